r"""Bytes of optimizer state per parameter (the chapter "Memory").

A rule's state for a block of shape (m, n) holds
:math:`a\,mn + b\,(m + n) + c + d\,(m^2 + n^2)` numbers for every rule in the
book: a buffer shaped like the block adds 1 to a, Adafactor's row and column
factors add 1 to b, a number kept per block adds 1 to c, and a pair of m x m and
n x n matrices (Shampoo's and SOAP's statistics, their roots or eigenvectors)
adds 1 to d. :func:`fit` measures a, b, c, d from the
states ``init`` returns for small shapes (an exact linear solve) and checks them
on other shapes; :func:`state_numbers` then applies them to the shapes of a
model far too large to allocate, such as GPT-2's (:func:`gpt2`).

The 8-bit state of :class:`optnotes.rules.quantized.EightBit` holds one byte an
entry and four a block: :func:`fit_eight_bit` measures those two numbers from
its states the same way. The experiment ``memory-width`` applies the fits to a
GPT-2 of any width (:func:`footprint`), with a slider over d.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import ceil, prod

import numpy as np

from ..analysis import state_bytes
from ..rules import AdamW, Rule
from ..rules.quantized import EightBit

# --- Shapes of a named architecture ------------------------------------------------


def gpt2(d: int, layers: int, vocab: int = 50257, context: int = 1024) -> dict:
    """The parameter shapes of a GPT-2 (Radford et al. 2019; sizes in their
    Table 2): token and position embeddings, then per block two layer norms, the
    attention's query-key-value matrix and projection, the MLP's two matrices (4d
    wide), each with its bias, and a final layer norm. The output layer is the
    token embedding (tied, as in OpenAI's released ``src/model.py``, whose logits
    multiply by ``wte`` transposed), so it adds no parameters."""
    shapes = {"wte": (vocab, d), "wpe": (context, d)}
    for k in range(layers):
        shapes |= {
            f"h{k}.ln_1.g": (d,),
            f"h{k}.ln_1.b": (d,),
            f"h{k}.attn.W_qkv": (d, 3 * d),
            f"h{k}.attn.b_qkv": (3 * d,),
            f"h{k}.attn.W_proj": (d, d),
            f"h{k}.attn.b_proj": (d,),
            f"h{k}.ln_2.g": (d,),
            f"h{k}.ln_2.b": (d,),
            f"h{k}.mlp.W_fc": (d, 4 * d),
            f"h{k}.mlp.b_fc": (4 * d,),
            f"h{k}.mlp.W_proj": (4 * d, d),
            f"h{k}.mlp.b_proj": (d,),
        }
    return shapes | {"ln_f.g": (d,), "ln_f.b": (d,)}


MODELS = {
    # a byte-level GPT-2 shape near a million parameters
    "1e6": dict(d=128, layers=5, vocab=256, context=256),
    # GPT-2 small and the paper's largest, GPT-2 XL (Table 2)
    "small": dict(d=768, layers=12),
    "1e9": dict(d=1600, layers=48),
}


def parameters(shapes: dict) -> int:
    return sum(int(np.prod(s)) for s in shapes.values())


# --- Fitting a rule's state ---------------------------------------------------------

FIT_SHAPES = ((2, 3), (3, 5), (5, 4), (4, 4), (6, 2))
CHECK_SHAPES = ((7, 11), (16, 3), (1, 9))


def numbers(rule: Rule, shape) -> float:
    """How many numbers the state ``rule.init`` makes for zeros of ``shape``
    holds, from its bytes (``analysis.state_bytes``); every array in it must be
    float64."""
    state = rule.init(np.zeros(shape))
    _float64_only(state)
    return state_bytes(rule, np.zeros(shape)) / 8


def _float64_only(state) -> None:
    if isinstance(state, np.ndarray) and state.dtype != np.float64:
        raise ValueError(f"count bytes, not numbers, of a state with {state.dtype} arrays")
    for part in (
        state.values()
        if isinstance(state, dict)
        else (state if isinstance(state, tuple | list) else ())
    ):
        _float64_only(part)


@dataclass(frozen=True)
class Fit:
    """Numbers of state: ``a*m*n + b*(m+n) + c + d*(m**2 + n**2)`` for a matrix (m, n),
    ``a_vec*n + c_vec`` for a vector of n, made by ``vectors`` (the rule itself,
    or AdamW where the rule takes matrices only)."""

    name: str
    a: float
    b: float
    c: float
    a_vec: float
    c_vec: float
    vectors: str
    d: float = 0.0

    def numbers(self, shape) -> float:
        if len(shape) == 1:
            return self.a_vec * shape[0] + self.c_vec
        m, n = shape[0], int(np.prod(shape[1:]))
        return self.a * m * n + self.b * (m + n) + self.c + self.d * (m * m + n * n)


def _solve(rows, values, checks, check_values, what):
    coefficients, *_ = np.linalg.lstsq(np.array(rows, float), np.array(values), rcond=None)
    coefficients = np.round(coefficients, 9) + 0.0  # no -0
    fitted = np.array(checks, float) @ coefficients
    if not np.allclose(fitted, check_values, rtol=0, atol=1e-9) or not np.allclose(
        np.array(rows, float) @ coefficients, values, rtol=0, atol=1e-9
    ):
        raise ValueError(f"{what} is not linear in the sizes: {check_values} vs {fitted}")
    return coefficients


def fit(rule: Rule, name: str | None = None) -> Fit:
    """Measure a, b, c, d (matrices) and a_vec, c_vec (vectors) of ``rule``'s state
    from its ``init`` on small shapes, and check them on others (ValueError if a
    held-out shape does not match)."""
    name = name or type(rule).__name__
    row = lambda s: (s[0] * s[1], s[0] + s[1], 1, s[0] ** 2 + s[1] ** 2)  # noqa: E731
    a, b, c, d = _solve(
        [row(s) for s in FIT_SHAPES],
        [numbers(rule, s) for s in FIT_SHAPES],
        [row(s) for s in CHECK_SHAPES],
        [numbers(rule, s) for s in CHECK_SHAPES],
        f"{name}'s state",
    )
    vectors = rule
    try:
        rule.init(np.zeros(3))
    except ValueError:  # a rule for matrices only: vectors get AdamW, as in practice
        vectors = AdamW()
    sizes = (3, 8, 17)
    a_vec, c_vec = _solve(
        [(n, 1) for n in sizes[:2]],
        [numbers(vectors, (n,)) for n in sizes[:2]],
        [(sizes[2], 1)],
        [numbers(vectors, (sizes[2],))],
        f"{name}'s state for vectors",
    )
    return Fit(name, a, b, c, a_vec, c_vec, type(vectors).__name__, d)


def state_numbers(f: Fit, shapes: dict) -> float:
    """The numbers of state a rule keeps for a model of these shapes."""
    return sum(f.numbers(s) for s in shapes.values())


# --- 8-bit state ---------------------------------------------------------------------


@dataclass(frozen=True)
class EightBitFit:
    """Bytes of an 8-bit state: ``per_entry*size + per_block*ceil(size/B)``."""

    per_entry: float
    per_block: float
    block_size: int

    def bytes(self, shape) -> float:
        size = int(np.prod(shape))
        return self.per_entry * size + self.per_block * ceil(size / self.block_size)


def fit_eight_bit(rule: Rule, block_size: int = 2048) -> EightBitFit | None:
    """Bytes per entry and per block of ``EightBit(rule)``'s state, measured on
    small shapes with blocks of 4 and checked with ``block_size``; None if the
    rule's buffers are not shaped like x (Adafactor)."""
    small = EightBit(rule, block_size=4)
    try:
        small.init(np.zeros((2, 3)))
    except ValueError:
        return None
    sizes = ((2, 3), (3, 5), (4, 4))  # 2, 4 and 4 blocks of 4
    per_entry, per_block = _solve(
        [(np.prod(s), ceil(np.prod(s) / 4)) for s in sizes],
        [state_bytes(small, np.zeros(s)) for s in sizes],
        [(1, 1)],
        [state_bytes(small, np.zeros((1, 1)))],
        "an 8-bit state",
    )
    result = EightBitFit(per_entry, per_block, block_size)
    shape = (3, block_size + 5)
    measured = state_bytes(EightBit(rule, block_size=block_size), np.zeros(shape))
    if measured != result.bytes(shape):
        raise ValueError(f"an 8-bit state of {shape}: {measured} bytes, fit {result.bytes(shape)}")
    return result


def eight_bit_bytes(f: EightBitFit, shapes: dict) -> float:
    return sum(f.bytes(s) for s in shapes.values())


# --- The table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    vectors: str
    per_param: dict  # model -> bytes of float32 state per parameter
    total_gb: dict  # model -> parameters + gradient + state, float32, in GB
    eight_bit_per_param: dict | None  # model -> real bytes per parameter, 8-bit
    eight_bit_gb: dict | None


def table(rules, models=("1e6", "1e9")) -> list[Row]:
    """A row per rule (instances): bytes of state per parameter at float32, and
    parameters + gradient + state in GB (10^9 bytes), for each model of
    :data:`MODELS`; and the same for the rule's 8-bit state where it has one."""
    shapes = {k: gpt2(**MODELS[k]) for k in models}
    rows = []
    for rule in rules:
        f = fit(rule)
        # 8-bit state for the rules whose whole state is buffers shaped like x
        e = fit_eight_bit(rule) if f.a > 0 and f.d == 0 and f.vectors == f.name else None
        per, gb, per8, gb8 = {}, {}, {}, {}
        for k, s in shapes.items():
            n = parameters(s)
            state = 4 * state_numbers(f, s)  # float32
            per[k], gb[k] = state / n, (8 * n + state) / 1e9
            if e is not None:
                state8 = eight_bit_bytes(e, s)
                per8[k], gb8[k] = state8 / n, (8 * n + state8) / 1e9
        rows.append(Row(f.name, f.vectors, per, gb, per8 or None, gb8 or None))
    return rows


def markdown(rows, models=("1e6", "1e9")) -> str:
    """The table as Markdown."""
    big = models[-1]
    head = (
        "| rule | state B/param, 10^6 | state B/param, 10^9 | GB at 10^9 "
        "| 8-bit B/param | 8-bit GB |\n|---|--:|--:|--:|--:|--:|\n"
    )
    lines = []
    for r in rows:
        name = r.name if r.vectors == r.name else f"{r.name} (vectors: {r.vectors})"
        eight = (
            f"{r.eight_bit_per_param[big]:.3f} | {r.eight_bit_gb[big]:.2f}"
            if r.eight_bit_per_param
            else "— | —"
        )
        lines.append(
            f"| {name} | {r.per_param[models[0]]:.3f} | {r.per_param[big]:.3f} "
            f"| {r.total_gb[big]:.2f} | {eight} |"
        )
    return head + "\n".join(lines) + "\n"


def book_rules() -> list[Rule]:
    """An instance (defaults) of every rule in the book that has defaults, the
    part on large models' rules included where they are installed."""
    from .. import rules as r

    found = [R() for R in r.ALL_RULES]
    for module, names in (
        ("adam", ("RAdam",)),
        ("layerwise", ("LARS", "LAMB")),
        ("factored", ("Adafactor",)),
        ("sign", ("SignSGD", "Signum", "Lion")),
        ("orthogonal", ("Muon",)),
        ("kronecker", ("Shampoo", "SOAP")),
        ("schedule_free", ("ScheduleFreeSGD", "ScheduleFreeAdamW")),
    ):
        try:
            mod = __import__(f"optnotes.rules.{module}", fromlist=list(names))
        except ImportError:
            continue
        for n in names:
            if hasattr(mod, n) and getattr(mod, n) not in r.ALL_RULES:
                found.append(getattr(mod, n)())
    return found


# --- 8-bit deviation from full precision --------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """How far training with 8-bit state ends from training at full precision:
    per layer, ‖W8 − W32‖ / ‖W32 − W0‖, and both final training losses."""

    per_layer: dict
    loss_32: float
    loss_8: float


def deviation(rule_32: Rule, rule_8: Rule, epochs: int = 1, seed: int = 0) -> Deviation:
    """Train the deep digits network with both rules (each block by its own rule,
    ``ByLayer``; the same mini-batches) and compare where they end."""
    from .. import data, problems
    from ..layers import ByLayer

    net = problems.deep_digits_network()
    digits = data.digits()
    w0 = net.named(net.init(seed))
    (loss_32, w_32), (loss_8, w_8) = (
        _train(ByLayer(rule, layout=net.layout), net, digits, epochs, seed)
        for rule in (rule_32, rule_8)
    )
    w_32, w_8 = net.named(w_32), net.named(w_8)
    per_layer = {
        k: float(np.linalg.norm(w_8[k] - w_32[k]) / np.linalg.norm(w_32[k] - w0[k])) for k in w0
    }
    return Deviation(per_layer, loss_32, loss_8)


def _train(rule, net, digits, epochs, seed):
    X, y, *_ = digits
    grad_fn = net.minibatch_oracle(X, y, 32, seed)
    w = net.init(seed)
    state = rule.init(w)
    for _ in range(epochs * (len(y) // 32)):
        w, state = rule.step(w, grad_fn, state)
    return float(net.loss(w, X, y)), w


__all__ = [
    "MODELS",
    "EightBitFit",
    "Deviation",
    "Fit",
    "book_rules",
    "deviation",
    "eight_bit_bytes",
    "fit",
    "fit_eight_bit",
    "footprint",
    "gpt2",
    "markdown",
    "parameters",
    "state_numbers",
    "table",
    "width_fits",
]

# --- Experiment: memory against the width ----------------------------------------

WIDTH_RULES = ("SGD", "Momentum", "Adam", "Lion", "Adafactor", "8-bit Adam")
"""The rules the experiment ``memory-width`` compares, at their defaults."""


def width_fits() -> dict:
    """Per rule of ``WIDTH_RULES``: its ``Fit`` (8-bit Adam: ``EightBitFit``)."""
    from .. import rules as r
    from ..rules.factored import Adafactor
    from ..rules.sign import Lion

    found = {"SGD": r.SGD(), "Momentum": r.Momentum(), "Adam": r.Adam(), "Lion": Lion()}
    fits = {name: fit(rule) for name, rule in found.items()}
    fits["Adafactor"] = fit(Adafactor())
    fits["8-bit Adam"] = fit_eight_bit(r.Adam())
    return fits


def footprint(fits: dict, shapes: dict) -> dict[str, float]:
    """Per rule, bytes of float32 state per parameter for a model of these shapes
    (8-bit Adam: its real bytes); pure arithmetic on the fits, nothing allocated.
    Each distinct shape is weighed once, times how often it occurs."""
    counts = Counter(shapes.values())
    n = sum(prod(s) * k for s, k in counts.items())
    per = {}
    for name, f in fits.items():
        weigh = f.bytes if isinstance(f, EightBitFit) else lambda s, f=f: 4 * f.numbers(s)
        per[name] = float(sum(weigh(s) * k for s, k in counts.items()) / n)
    return per


def width_experiment():
    from .. import plots
    from .. import widgets as w

    fits = width_fits()
    names = list(fits)
    fig, (ax,) = plots.new_figure(8.0, 3.0)
    live = plots.LiveFigure(fig)
    at = np.arange(len(names))[::-1]
    held = ax.barh(at, np.full(len(names), 8.0), color="0.8", label="parameters + gradient")
    state = ax.barh(
        at,
        np.zeros(len(names)),
        left=8.0,
        color=[plots.style(n.split()[-1])["color"] for n in names],
        label="state",
    )
    ax.set_yticks(at, names)
    ax.set(xlim=(0, 22), xlabel="bytes per parameter at float32 (8-bit Adam's state: 8 bits)")
    ax.legend(handles=[held], loc="lower right", fontsize=8)
    notes = [ax.text(8.2, y, "", va="center", fontsize=8) for y in at]
    title = ax.set_title("")
    live.animate(*state, *notes, title)

    def draw(d, layers):
        shapes = gpt2(d, layers)
        n = sum(prod(s) for s in shapes.values())
        per = footprint(fits, shapes)
        for bar, note, name in zip(state, notes, names, strict=True):
            bar.set_width(per[name])
            gb = n * (8 + per[name]) / 1e9
            note.set_x(8.2 + per[name])
            note.set_text(f"state {per[name]:.4g} B, total {gb:.3g} GB")
        title.set_text(f"GPT-2 shape, d = {d}, {layers} layers: {n:,} parameters")
        return live

    controls = {"d": w.Int("width d", 1600, 64, 4096), "layers": w.Int("layers", 48, 1, 96)}
    return w.Experiment("memory-width", controls, draw, static=("d",))


EXPERIMENTS = {"memory-width": width_experiment}
