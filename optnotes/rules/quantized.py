r"""8-bit optimizer state: block-wise quantisation around any rule whose buffers
are shaped like the parameters (Dettmers, Lewis, Shleifer & Zettlemoyer 2022).

The wrapped rule's buffers are kept between steps as one byte per entry (an
index into a table of 256 values, the *map*) and one float32 scale per block of
``block_size`` entries::

    rule = EightBit(Adam(lr=1e-3))     # m and v kept in 8 bits
    state = rule.init(x0)
    x1, state1 = rule.step(x0, grad_fn, state)

Each step dequantises the buffers, takes the wrapped rule's own step with them
(in float64, as every rule here), and quantises the new buffers again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, a_rule

# Buffers that are never negative by construction: the second moments and
# running sums of squares of the package's rules, and AdaMax's max.
NON_NEGATIVE = ("v", "v_max", "r", "s", "w")


@cache
def dynamic_map(signed: bool = True) -> np.ndarray:
    r"""The dynamic (tree) quantisation map of Dettmers et al. 2022 (the signed
    map, §1.3; the unsigned one, their dynamic quantisation, §2.2): 256 sorted
    values in [−1, 1] (signed) or [0, 1] (unsigned).

    A code is a sign bit, then zeros that count the decimal exponent, then a
    one (the indicator), then the remaining bits a linear fraction. With
    :math:`k = 0 … 6` bits left for the fraction after an exponent
    :math:`10^{k-6}`, the :math:`2^k` values are the midpoints of
    :math:`2^k` equal intervals of [0.1, 1] times :math:`10^{k-6}`; the
    unsigned map has no sign bit, and gives it to the fraction
    (:math:`2^{k+1}` midpoints). 0 and 1 complete the 256 values, as in
    bitsandbytes' ``create_dynamic_map``.
    """
    values = [0.0, 1.0]
    for k in range(7):
        n = 2**k if signed else 2 ** (k + 1)
        edges = np.linspace(0.1, 1.0, n + 1)
        mids = 10.0 ** (k - 6) * (edges[:-1] + edges[1:]) / 2
        values += list(mids) + (list(-mids) if signed else [])
    table = np.sort(np.array(values, dtype=np.float32))
    table.flags.writeable = False  # one table for every call: read-only
    return table


@cache
def linear_map(signed: bool = True) -> np.ndarray:
    """Linear quantisation, for comparison: 255 evenly spaced values in [−1, 1]
    (0 among them) when signed, 256 in [0, 1] when not."""
    values = np.linspace(-1.0, 1.0, 255) if signed else np.linspace(0.0, 1.0, 256)
    table = values.astype(np.float32)
    table.flags.writeable = False
    return table


MAPS = {"dynamic": dynamic_map, "linear": linear_map}


def nearest(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The index of the value of the sorted ``table`` nearest each of ``values``
    (the lower one on a tie)."""
    above = np.clip(np.searchsorted(table, values), 1, len(table) - 1)
    below = above - 1
    closer_below = values - table[below] <= table[above] - values
    return np.where(closer_below, below, above).astype(np.uint8)


class Quantized(NamedTuple):
    """A buffer in 8 bits: a code per entry (shaped like the buffer) and the
    float32 absolute maximum of each block of the flattened buffer."""

    codes: np.ndarray
    absmax: np.ndarray


def _finite_float32(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if not np.isfinite(s).all():
        raise ValueError("cannot quantise a buffer that is not finite (inf or NaN)")
    if s.size and np.max(np.abs(s)) > np.finfo(np.float32).max:
        raise ValueError(
            f"cannot quantise a buffer holding {np.max(np.abs(s)):.3g}: its block's "
            "maximum is kept as a float32, whose largest value is 3.4e38"
        )
    return s


def quantize(s: np.ndarray, Q: np.ndarray, B: int) -> Quantized:
    """Block-wise quantisation of ``s`` with the sorted map ``Q``, blocks of ``B``
    entries of the flattened ``s`` (the last may be shorter)."""
    s = _finite_float32(s)
    blocks = np.zeros(-(-s.size // B) * B)  # padded with zeros to whole blocks
    blocks[: s.size] = s.ravel()
    blocks = blocks.reshape(-1, B)
    N = np.max(np.abs(blocks), axis=1).astype(np.float32)  # kept as float32
    c = nearest(Q, blocks / np.where(N > 0, N, 1)[:, None])
    return Quantized(c.ravel()[: s.size].reshape(s.shape), N)


def dequantize(q: Quantized, table: np.ndarray, block_size: int) -> np.ndarray:
    """The buffer a :class:`Quantized` stands for: each code's value times its
    block's absolute maximum, in float64."""
    values = table[q.codes.ravel()].astype(np.float64)
    N = np.repeat(q.absmax.astype(np.float64), block_size)[: values.size]
    return (values * N).reshape(q.codes.shape)


class EightBitState(NamedTuple):
    t: int
    buffers: dict  # each buffer's name -> Quantized


@dataclass(frozen=True)
class EightBit(Rule):
    r"""8-bit optimizer state (Dettmers, Lewis, Shleifer & Zettlemoyer 2022, §2).

    $$
    \begin{aligned}
    N_b &= \max_{i \in b} |s_i|
        \quad \text{for each block } b \text{ of } B \text{ entries of } s \\
    c_i &= \operatorname*{arg\,min}_{j}\, \bigl| Q_j - s_i / N_b \bigr| \\
    \tilde s_i &= Q_{c_i}\, N_b
    \end{aligned}
    $$

    Each buffer :math:`s` of the wrapped rule (Adam's m and v, a momentum's u)
    is kept as codes :math:`c_i` (one byte each, indices into the map
    :math:`Q` of 256 values) and one float32 :math:`N_b` per block; a step
    dequantises to :math:`\tilde s`, takes the wrapped rule's step, and
    quantises the new buffers. Blocks run over the flattened buffer, so an
    outlier changes the codes of its own block only. The map is dynamic tree
    quantisation (§1.3), signed for buffers that can be negative, and for the
    non-negative ones the paper's unsigned extension (§2.2; the names in
    ``unsigned``, by default v, r, s and AdaMax's w), or ``quantization="linear"``
    for comparison. Codes are the nearest value of the map. The default
    :math:`B = 2048` is the paper's. The paper's stable embedding layer is not
    here: it changes the network (initialisation, a layer norm) and keeps that
    layer's optimizer state in 32 bits. bitsandbytes' ``Adam8bit`` wraps Adam
    this way on a GPU, with blocks of 2048 up to its version 0.43 and of 256 since 0.44,
    and keeps tensors of fewer than 4096 entries (``min_8bit_size``) in 32 bits.
    """

    rule: Rule
    block_size: int = 2048
    quantization: str = "dynamic"
    unsigned: tuple = NON_NEGATIVE
    State = EightBitState

    def __post_init__(self):
        self._check(rule=a_rule)
        _checks.whole("block_size", self.block_size, low=1)
        if self.quantization not in MAPS:
            raise ValueError(
                f"quantization must be one of {sorted(MAPS)}, got {self.quantization!r}"
            )
        object.__setattr__(self, "unsigned", tuple(self.unsigned))

    @property
    def buffers(self) -> tuple[str, ...]:
        return self.rule.buffers

    def table(self, name: str) -> np.ndarray:
        """The map of the buffer ``name``: unsigned for a non-negative buffer."""
        return MAPS[self.quantization](signed=name not in self.unsigned)

    def quantize(self, name: str, s: np.ndarray) -> Quantized:
        s = np.asarray(s, dtype=np.float64)
        if name in self.unsigned and (s < 0).any():
            raise ValueError(
                f"the buffer {name} has negative entries, but is kept with the "
                f"unsigned map: leave {name!r} out of unsigned"
            )
        return quantize(s, self.table(name), self.block_size)

    def dequantize(self, name: str, q: Quantized) -> np.ndarray:
        return dequantize(q, self.table(name), self.block_size)

    def init(self, x0) -> EightBitState:
        x0 = _checks.parameters("x0", x0)
        inner = self.rule.init(x0)
        self._shaped_like(inner, x0)
        names = inner._fields[1:]
        return EightBitState(
            0, {n: self.quantize(n, s) for n, s in zip(names, inner[1:], strict=True)}
        )

    def _shaped_like(self, inner, x) -> None:
        for name, buffer in zip(inner._fields[1:], inner[1:], strict=True):
            if not isinstance(buffer, np.ndarray) or buffer.shape != x.shape:
                shape = np.shape(buffer) if isinstance(buffer, np.ndarray) else "not an array"
                raise ValueError(
                    f"EightBit quantises buffers shaped like the parameters {x.shape}, "
                    f"but {type(self.rule).__name__}'s {name} is {shape}; for a rule "
                    f"over a network's layers, wrap each layer's rule: "
                    f"ByLayer(EightBit(Adam()))"
                )

    def unpack(self, state, x: np.ndarray) -> EightBitState:
        if not isinstance(state, EightBitState):
            raise TypeError(
                f"EightBit.step takes the state made by EightBit.init (EightBitState), "
                f"got {type(state).__name__}"
            )
        if list(state.buffers) != list(self.rule.buffers):
            raise ValueError(
                f"the state keeps {list(state.buffers)} but "
                f"{type(self.rule).__name__} keeps {list(self.rule.buffers)}"
            )
        for name, q in state.buffers.items():
            if np.shape(q.codes) != x.shape:
                raise ValueError(
                    f"the state's {name} has shape {np.shape(q.codes)} but the parameters "
                    f"have shape {x.shape}: was the state made for other parameters?"
                )
        return state

    def step(self, x, grad_fn, state):
        t, stored = self.unpack(state, x)
        s = {name: self.dequantize(name, q) for name, q in stored.items()}
        x, inner = self.rule.step(x, grad_fn, self.rule.State(t, *s.values()))
        s = dict(zip(inner._fields[1:], inner[1:], strict=True))
        stored = {name: self.quantize(name, s[name]) for name in s}
        return x, EightBitState(t + 1, stored)
