r"""Parameters as layers: a rule applied block by block to a network's parameters.

A network's parameters are not one vector but a structure of named arrays, its
layers' weight matrices and bias vectors. LARS and LAMB compute a ratio per layer,
Adafactor factors a matrix's second moment, and practice gives matrices and
vectors different rules. :class:`ByLayer` does this for any rule that takes one
gradient per step::

    rule = ByLayer(LAMB(), vectors=AdamW())     # matrices get LAMB, vectors AdamW
    state = rule.init(params)                   # params: {"W1": (64, 32) array, ...}
    params, state = rule.step(params, grad_fn, state)

``grad_fn(params)`` returns the gradient with the same structure (a dict with the
same names and shapes), and is called once per step. Each block keeps its own
state, made by its own rule, so a rule's ``step`` sees one block exactly as it
would see the whole of a smaller problem.

Given ``layout`` (a network's ``Network.layout``), the same rule takes and returns
the flat vector the rest of the package uses, so ``run`` and ``networks.train``
work with it unchanged.

A rule that takes its gradient somewhere other than at ``x`` (Nesterov's
look-ahead) is handled too: every block's rule is first asked where it wants the
gradient, the gradient is taken once at all those points together, and then each
block steps with its part. The rules are pure, so asking costs nothing but time.

A wrapper inside ``ByLayer`` acts on each block alone: ``ByLayer(ClipByNorm(rule))``
clips each block by its own norm (Keras's ``clipnorm``); for the global norm, wrap
the whole: ``ClipByNorm(ByLayer(rule, layout=net.layout))``. Rules that search
along a line, or keep a model of the whole curvature (``LBFGS``, ``NonlinearCG``),
need the loss of all the parameters together and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks
from .conjugate_gradient import NonlinearCG
from .quasi_newton import LBFGS
from .rules import Rule, a_rule


class ByLayerState(NamedTuple):
    t: int
    blocks: dict  # each block's name -> the state its own rule keeps


class _Asked(BaseException):
    """Raised inside a probing step to stop it once it names its gradient point (a
    BaseException, so that no ``except Exception`` in a rule or wrapper swallows it)."""

    def __init__(self, point):
        super().__init__()
        self.point = point


def _ask(point):
    raise _Asked(np.array(point, dtype=np.float64))


def layout_of(params) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The names and shapes of a structure of named arrays, in order."""
    return tuple((name, np.shape(block)) for name, block in params.items())


def flatten(params) -> np.ndarray:
    """A structure of named arrays as one flat vector, in its order."""
    return np.concatenate([np.ravel(block) for block in params.values()])


def unflatten(x: np.ndarray, layout) -> dict[str, np.ndarray]:
    """A flat vector as named arrays shaped as ``layout`` says (copies)."""
    sizes = [int(np.prod(shape)) for _, shape in layout]
    if np.shape(x) != (sum(sizes),):
        raise ValueError(
            f"the layout holds {sum(sizes)} parameters, got an array of shape {np.shape(x)}"
        )
    blocks, i = {}, 0
    for (name, shape), size in zip(layout, sizes, strict=True):
        blocks[name] = np.array(x[i : i + size]).reshape(shape)
        i += size
    return blocks


def _check_layout(layout):
    if layout is None:
        return None
    try:
        layout = tuple((str(name), tuple(int(n) for n in shape)) for name, shape in layout)
    except (TypeError, ValueError):
        raise ValueError(
            f"layout must be pairs (name, shape), as Network.layout gives, got {layout!r}"
        ) from None
    names = [name for name, _ in layout]
    if not layout or len(set(names)) != len(names):
        raise ValueError(f"layout must name each block once, got {names}")
    return layout


@dataclass(frozen=True)
class ByLayer(Rule):
    r"""One rule per block: ``rule`` for weight matrices (and any array of two or
    more dimensions), ``vectors`` for biases and other vectors (``rule`` itself
    when not given).

    $$ X_\ell \leftarrow \operatorname{step}_{\mathrm{rule}(\ell)}\bigl(X_\ell,\ G_\ell\bigr)
       \quad \text{for each block } \ell $$
    """

    rule: Rule
    vectors: Rule | None = None
    layout: tuple | None = None
    State = ByLayerState

    def __post_init__(self):
        self._check(rule=a_rule)
        if self.vectors is not None:
            self._check(vectors=a_rule)
        for rule in (self.rule, self.vectors):
            _whole_vector_rule(rule)
        object.__setattr__(self, "layout", _check_layout(self.layout))

    def rule_for(self, block: np.ndarray) -> Rule:
        """The rule that updates this block: ``rule`` for matrices, ``vectors`` for
        vectors."""
        if np.ndim(block) >= 2 or self.vectors is None:
            return self.rule
        return self.vectors

    def _blocks(self, name: str, params) -> dict[str, np.ndarray]:
        if self.layout is not None:
            if isinstance(params, dict):
                raise TypeError(
                    "with layout=, ByLayer takes the flat vector (network.flat(params)); "
                    "leave layout out to pass named arrays"
                )
            return unflatten(_checks.parameters(name, params), self.layout)
        if not isinstance(params, dict):
            raise TypeError(
                f"ByLayer takes the parameters as a dict of named arrays (as "
                f"Network.named(w) gives), or a flat vector with layout=Network.layout; "
                f"got {type(params).__name__}"
            )
        if not params:
            raise ValueError("the parameters hold no blocks")
        return {key: _checks.parameters(f"{name}[{key!r}]", b) for key, b in params.items()}

    def _output(self, blocks: dict[str, np.ndarray]):
        return flatten(blocks) if self.layout is not None else blocks

    def init(self, x0) -> ByLayerState:
        blocks = self._blocks("x0", x0)
        return ByLayerState(0, {k: self.rule_for(b).init(b) for k, b in blocks.items()})

    @property
    def buffers(self) -> tuple[str, ...]:
        """The buffers some block keeps (a vector with another rule may keep
        others, or none)."""
        rules = (self.rule,) if self.vectors is None else (self.rule, self.vectors)
        return tuple(dict.fromkeys(b for r in rules for b in r.buffers))

    def unpack(self, state, blocks):
        if not isinstance(state, ByLayerState):
            raise TypeError(
                f"ByLayer.step takes the state made by ByLayer.init (ByLayerState), "
                f"got {type(state).__name__}"
            )
        if list(state.blocks) != list(blocks):
            raise ValueError(
                f"the parameters have blocks {list(blocks)} but the state was made for "
                f"{list(state.blocks)}: was the state made for other parameters?"
            )
        return state

    def _gradient(self, grad_fn, points: dict[str, np.ndarray], t: int):
        if not callable(grad_fn):
            raise TypeError(
                f"grad_fn must be a function of the parameters, got {type(grad_fn).__name__}"
            )
        with np.errstate(all="ignore"):
            g = grad_fn(self._output(points))
        if self.layout is not None:
            g = np.asarray(g, dtype=np.float64)
            if g.shape != (sum(b.size for b in points.values()),):
                raise ValueError(f"grad_fn returned shape {g.shape} at step {t}")
            g = unflatten(g, self.layout)
        g = dict(g) if isinstance(g, dict) else g  # the caller's dict is left as it is
        if not isinstance(g, dict) or list(g) != list(points):
            got = list(g) if isinstance(g, dict) else type(g).__name__
            raise ValueError(
                f"grad_fn must return a gradient for each block {list(points)} "
                f"at step {t}, got {got}"
            )
        for name, block in g.items():
            block = np.asarray(block, dtype=np.float64)
            if block.shape != points[name].shape:
                raise ValueError(
                    f"the gradient of block {name!r} has shape {block.shape} at step {t}, "
                    f"but the block has shape {points[name].shape}"
                )
            if not np.isfinite(block).all():
                raise FloatingPointError(
                    f"the gradient of block {name!r} at step {t} is not finite (inf or NaN)"
                )
            g[name] = block
        return g

    def step(self, x, grad_fn, state):
        blocks = self._blocks("x", x)
        t, states = self.unpack(state, blocks)
        # Where each block's rule takes its gradient: x itself for most rules.
        points = {}
        for name, block in blocks.items():
            try:
                self.rule_for(block).step(block, _ask, states[name])
                raise RuntimeError(f"the rule for block {name!r} took no gradient")
            except _Asked as asked:
                points[name] = asked.point
        g = self._gradient(grad_fn, points, t)
        new_blocks, new_states = {}, {}
        for name, block in blocks.items():
            rule = self.rule_for(block)
            new_blocks[name], new_states[name] = rule.step(
                block, _Answer(name, points[name], g[name]), states[name]
            )
        return self._output(new_blocks), ByLayerState(t + 1, new_states)


class _Answer:
    """The gradient of one block, for the one call its rule makes, at the point it
    asked for in the first pass."""

    def __init__(self, name: str, point: np.ndarray, g: np.ndarray):
        self.name, self.point, self.g, self.calls = name, point, g, 0

    def __call__(self, point):
        self.calls += 1
        if self.calls > 1 or not np.array_equal(point, self.point):
            raise RuntimeError(
                f"the rule for block {self.name!r} asked for a second gradient in one "
                "step, or at another point: ByLayer gives each block one gradient per step"
            )
        return self.g


def _whole_vector_rule(rule) -> None:
    """Refuse the rules that need the loss of all the parameters together."""
    inner = rule
    while inner is not None:
        if isinstance(inner, LBFGS | NonlinearCG):
            raise ValueError(
                f"ByLayer cannot run {type(inner).__name__}: a quasi-Newton or "
                "conjugate-gradient rule searches along a line and models the "
                "curvature of the whole loss; give it the flat vector of parameters"
            )
        inner = getattr(inner, "rule", None)
