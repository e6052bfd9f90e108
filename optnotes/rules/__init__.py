r"""The update rules, each a small immutable object with a pure ``init`` and ``step``.

Every rule follows one contract::

    rule = Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)  # checks its hyperparameters
    state = rule.init(x0)                    # the rule's buffers and the step count t = 0
    x1, state1 = rule.step(x0, grad_fn, state)   # calls grad_fn once; changes nothing in place

Notation, the same in the book: :math:`x` the parameters, :math:`g` the gradient,
:math:`\alpha` the learning rate, :math:`u` a velocity, :math:`r, s` running
averages of squares, :math:`m, v` Adam's first and second moments, :math:`t` the
step count (0 on the first step). ``lr`` (and ``mu`` where there is one) may be a
number or a schedule, a callable of ``t``; the rule then uses ``lr(t)``. ``lr``
may also be an array of rates that broadcasts against ``x``: for a rule that
treats each entry alone, ``x`` of shape (2, k) with ``lr`` of shape (k,) is k
runs side by side, one rate each (the race tunes the rates so).

Each ``step`` reads line by line like the equation in its docstring.
"""

from .adam import (
    Adam,
    AdaMax,
    AdaMaxState,
    AdamFamily,
    AdamState,
    AdamW,
    AMSGrad,
    AMSGradState,
    Nadam,
    RAdam,
    Yogi,
)
from .adaptive import (
    Adadelta,
    AdadeltaState,
    Adagrad,
    AdagradState,
    RMSProp,
    RMSPropNesterov,
    RMSPropNesterovState,
)
from .base import Rule, _lr, _mu, a_rule, finite, gradient
from .factored import Adafactor, AdafactorState
from .kronecker import SOAP, Shampoo, ShampooState, SOAPState
from .layerwise import LAMB, LARS, LARSState
from .momentum import Momentum, MomentumState, Nesterov
from .orthogonal import Muon, MuonState
from .quantized import EightBit, EightBitState
from .schedule_free import (
    ScheduleFreeAdamW,
    ScheduleFreeAdamWState,
    ScheduleFreeSGD,
    ScheduleFreeState,
)
from .sgd import SGD, Preconditioned, SGDState
from .sign import Lion, SignSGD, SignState, Signum

__all__ = [
    "LARGE_MODEL_RULES",
    "MATRIX_RULES",
    "ScheduleFreeAdamW",
    "ScheduleFreeAdamWState",
    "ScheduleFreeSGD",
    "ScheduleFreeState",
    "Muon",
    "MuonState",
    "SOAP",
    "SOAPState",
    "Shampoo",
    "ShampooState",
    "SignState",
    "Signum",
    "SignSGD",
    "Lion",
    "EightBitState",
    "EightBit",
    "LARSState",
    "LARS",
    "LAMB",
    "AdafactorState",
    "Adafactor",
    "RAdam",
    "ALL_RULES",
    "AMSGrad",
    "AMSGradState",
    "AdaMax",
    "AdaMaxState",
    "Adadelta",
    "AdadeltaState",
    "Adagrad",
    "AdagradState",
    "Adam",
    "AdamFamily",
    "AdamState",
    "AdamW",
    "Momentum",
    "MomentumState",
    "Nadam",
    "Nesterov",
    "Preconditioned",
    "RMSProp",
    "RMSPropNesterov",
    "RMSPropNesterovState",
    "Rule",
    "SGD",
    "SGDState",
    "Yogi",
    "_lr",
    "_mu",
    "a_rule",
    "finite",
    "gradient",
]

ALL_RULES = (
    SGD,
    Momentum,
    Nesterov,
    Adagrad,
    RMSProp,
    RMSPropNesterov,
    Adadelta,
    Adam,
    AdaMax,
    Nadam,
    AMSGrad,
    AdamW,
    Yogi,
    RAdam,
)
"""Every rule, in the order the book introduces them."""

LARGE_MODEL_RULES = (
    LARS,
    LAMB,
    SignSGD,
    Signum,
    Lion,
    Adafactor,
    ScheduleFreeSGD,
    ScheduleFreeAdamW,
)
"""The rules of the part "Optimizers of large models" that take parameters of
any shape, in the book's order (8-bit state, ``EightBit``, wraps another rule
and is not among them; the rules for matrices only are ``MATRIX_RULES``)."""

MATRIX_RULES = (
    Shampoo,
    SOAP,
    Muon,
)
"""The rules of large models that update a weight matrix as a matrix, and take
matrices only (a network's vectors go to another rule through ``ByLayer``), in
the book's order."""
