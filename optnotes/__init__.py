"""optnotes: the update rules, schedules and problems of the optnotes book.

The core needs numpy alone. The modules that plot, derive or draw sliders
(``optnotes.plots``, ``optnotes.derivations``, ``optnotes.widgets``) import
matplotlib, sympy and ipywidgets themselves, and only they do.
"""

from . import analysis, problems, schedules
from .averaging import EMAWeights, PolyakAverage
from .clipping import ClipByNorm, ClipByValue
from .rules import (
    ALL_RULES,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdaMax,
    AdamW,
    AMSGrad,
    Momentum,
    Nadam,
    Nesterov,
    Preconditioned,
    RMSProp,
    RMSPropNesterov,
    Rule,
    Yogi,
)
from .trajectory import Diverged, run

__all__ = [
    "ALL_RULES",
    "SGD",
    "AMSGrad",
    "AdaMax",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "ClipByNorm",
    "ClipByValue",
    "Diverged",
    "EMAWeights",
    "Momentum",
    "Nadam",
    "Nesterov",
    "PolyakAverage",
    "Preconditioned",
    "RMSProp",
    "RMSPropNesterov",
    "Rule",
    "Yogi",
    "analysis",
    "problems",
    "run",
    "schedules",
]
__version__ = "0.1.0"
