"""optnotes: the update rules, schedules and problems of the optnotes book.

The core needs numpy alone. The modules that plot, derive or draw sliders
(``optnotes.plots``, ``optnotes.derivations``, ``optnotes.widgets``) import
matplotlib, sympy and ipywidgets themselves, and only they do.
"""

from . import analysis, data, layers, networks, problems, schedules
from .averaging import EMAWeights, PolyakAverage
from .clipping import ClipByNorm, ClipByValue
from .layers import ByLayer
from .rules import (
    ALL_RULES,
    LAMB,
    LARGE_MODEL_RULES,
    LARS,
    MATRIX_RULES,
    SGD,
    SOAP,
    Adadelta,
    Adafactor,
    Adagrad,
    Adam,
    AdaMax,
    AdamW,
    AMSGrad,
    EightBit,
    Lion,
    Momentum,
    Muon,
    Nadam,
    Nesterov,
    Preconditioned,
    RAdam,
    RMSProp,
    RMSPropNesterov,
    Rule,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
    Shampoo,
    SignSGD,
    Signum,
    Yogi,
)
from .trajectory import Diverged, run

__all__ = [
    "ALL_RULES",
    "LAMB",
    "LARGE_MODEL_RULES",
    "LARS",
    "MATRIX_RULES",
    "Muon",
    "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
    "SOAP",
    "Shampoo",
    "Adafactor",
    "ByLayer",
    "EightBit",
    "Lion",
    "RAdam",
    "SignSGD",
    "Signum",
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
    "data",
    "layers",
    "networks",
    "problems",
    "run",
    "schedules",
]
__version__ = "0.1.0"
