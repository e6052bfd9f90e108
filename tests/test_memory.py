"""8-bit optimizer state (Dettmers et al. 2022) and the memory chapter's table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optnotes import SGD, Adam, AdamW, Momentum, problems
from optnotes.analysis import held_bytes, state_bytes
from optnotes.large_models import memory
from optnotes.layers import ByLayer
from optnotes.rules.quantized import (
    EightBit,
    EightBitState,
    dequantize,
    dynamic_map,
    linear_map,
    quantize,
)

# --- The map, built from the paper's bit layout (§1.3; unsigned, §2.2) -------------


def map_from_bits(signed: bool) -> np.ndarray:
    """Every 8-bit code read as the paper describes it: a sign bit (signed map
    only), then e zeros (the exponent 10^-e), a one (the indicator), and the
    remaining k bits a linear fraction: the midpoint of the F-th of 2^k equal
    intervals of [0.1, 1]. The code of all zeros is 0; the one spare code
    (sign set and nothing else, or the lone indicator of the unsigned map)
    is 1, as bitsandbytes fills it."""
    values = []
    for code in range(256):
        sign, bits, width = (
            (-1.0 if code >> 7 else 1.0, code & 127, 7) if signed else (1.0, code, 8)
        )
        if bits == 0:
            values.append(1.0 if sign < 0 else 0.0)
            continue
        e = width - bits.bit_length()  # leading zeros
        k = width - e - 1  # bits after the indicator
        if k == 0 and not signed:
            values.append(1.0)
            continue
        F = bits - (1 << k)
        values.append(sign * 10.0**-e * (0.1 + 0.9 * (F + 0.5) / 2**k))
    return np.sort(np.array(values))


@pytest.mark.parametrize("signed", [True, False])
def test_dynamic_map_is_the_papers(signed):
    table = dynamic_map(signed)
    assert table.dtype == np.float32 and table.shape == (256,)
    assert np.all(np.diff(table) > 0)
    np.testing.assert_allclose(table, map_from_bits(signed), rtol=1e-6, atol=0)
    assert table[-1] == 1.0 and 0.0 in table
    assert (table.min() < 0) == signed


def test_linear_map():
    assert np.allclose(np.diff(linear_map(True)), 2 / 254, rtol=1e-5)
    assert 0.0 in linear_map(True) and linear_map(False)[[0, -1]].tolist() == [0, 1]


# --- Quantising and dequantising ----------------------------------------------------


def reference_quantize(s, table, B):
    """Block by block, entry by entry: the nearest value of the map to s_i / N_b."""
    flat = np.ravel(s).astype(np.float64)
    codes, absmax = np.zeros(flat.size, dtype=np.uint8), []
    for start in range(0, flat.size, B):
        N = np.float32(max(abs(v) for v in flat[start : start + B]))
        absmax.append(N)
        for i in range(start, min(start + B, flat.size)):
            r = flat[i] / float(N) if N > 0 else 0.0
            codes[i] = int(np.argmin(np.abs(table.astype(np.float64) - r)))
    return codes.reshape(np.shape(s)), np.array(absmax, dtype=np.float32)


def reference_dequantize(codes, absmax, table, B):
    flat = np.ravel(codes)
    out = np.array([float(table[c]) * float(absmax[i // B]) for i, c in enumerate(flat)])
    return out.reshape(np.shape(codes))


arrays = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(values=arrays, B=st.integers(1, 16), signed=st.booleans(), kind=st.sampled_from(["d", "l"]))
def test_round_trip_error_is_at_most_half_a_gap(values, B, signed, kind):
    s = np.array(values) if signed else np.abs(values)
    table = (dynamic_map if kind == "d" else linear_map)(signed)
    q = quantize(s, table, B)
    back = dequantize(q, table, B)
    t64 = table.astype(np.float64)
    for i, value in enumerate(s):
        # the block's maximum, as kept: a float32 (0 below float32's range)
        N = float(np.float32(np.max(np.abs(s[(i // B) * B : (i // B + 1) * B]))))
        if N == 0:
            assert back[i] == 0
            continue
        r = value / N
        below, above = t64[t64 <= r], t64[t64 >= r]
        if below.size and above.size:
            bound = (above.min() - below.max()) / 2
        else:  # beyond the map's end (−1 for the signed dynamic map)
            bound = abs(r - (t64.min() if not below.size else t64.max()))
        assert abs(back[i] - value) <= (bound + 1e-9) * N


@settings(max_examples=30, deadline=None)
@given(values=arrays, B=st.integers(1, 8), changed=st.floats(-1e3, 1e3), at=st.integers(0, 59))
def test_a_blocks_codes_depend_on_that_block_only(values, B, changed, at):
    s = np.array(values)
    at = at % s.size
    t = s.copy()
    t[at] = changed
    table = dynamic_map(True)
    q, r = quantize(s, table, B), quantize(t, table, B)
    other = np.arange(s.size) // B != at // B
    assert np.array_equal(q.codes[other], r.codes[other])
    keep = np.arange(q.absmax.size) != at // B
    assert np.array_equal(q.absmax[keep], r.absmax[keep])


def test_quantize_matches_the_loop_reference():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(7, 9)) * np.exp(rng.normal(size=(7, 9)) * 3)
    for signed, x in ((True, s), (False, s**2)):
        table = dynamic_map(signed)
        q = quantize(x, table, 10)
        codes, absmax = reference_quantize(x, table, 10)
        assert np.array_equal(q.codes, codes) and np.array_equal(q.absmax, absmax)
        assert q.codes.dtype == np.uint8 and q.absmax.dtype == np.float32
        assert np.array_equal(
            dequantize(q, table, 10), reference_dequantize(codes, absmax, table, 10)
        )


# --- The wrapper, step by step against the paper's algorithm -----------------------


def reference_adam8(x, grad, steps, alpha, beta1, beta2, eps, B):
    """Adam (Kingma & Ba, Algorithm 1, t from 1) whose m and v are stored between
    steps as 8-bit codes and block maxima (Dettmers et al. 2022, §2)."""
    x = np.array(x, dtype=float)
    Qm, Qv = map_from_bits(True).astype(np.float32), map_from_bits(False).astype(np.float32)
    cm, Nm = reference_quantize(np.zeros_like(x), Qm, B)
    cv, Nv = reference_quantize(np.zeros_like(x), Qv, B)
    for t in range(1, steps + 1):
        m = reference_dequantize(cm, Nm, Qm, B)
        v = reference_dequantize(cv, Nv, Qv, B)
        g = grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        x = x - alpha * m_hat / (np.sqrt(v_hat) + eps)
        cm, Nm = reference_quantize(m, Qm, B)
        cv, Nv = reference_quantize(v, Qv, B)
    return x, (cm, Nm, cv, Nv)


@pytest.mark.parametrize("shape", [(23,), (5, 7)])
def test_eight_bit_adam_against_the_reference(shape):
    problem = problems.MatrixLeastSquares((5, 7), (10.0, 3.0), seed=1)
    curvature, centre = np.geomspace(1e-3, 10, 23), np.linspace(-2, 3, 23)
    grad = problem.grad if len(shape) == 2 else (lambda x: curvature * (x - centre))
    x0 = np.zeros(shape)
    rule = EightBit(Adam(lr=0.05), block_size=8)
    x, state = x0, rule.init(x0)
    for _ in range(30):
        x, state = rule.step(x, grad, state)
    x_ref, (cm, Nm, cv, Nv) = reference_adam8(x0, grad, 30, 0.05, 0.9, 0.999, 1e-8, 8)
    np.testing.assert_allclose(x, x_ref, rtol=1e-9, atol=1e-12)
    assert state.t == 30
    assert np.array_equal(state.buffers["m"].codes, cm)
    assert np.array_equal(state.buffers["v"].absmax, Nv)
    assert state.buffers["m"].codes.shape == shape


def test_step_is_pure():
    rule = EightBit(Momentum(lr=0.1), block_size=4)
    x = np.linspace(-1, 1, 10)
    state = rule.init(x)
    x_before, codes_before = x.copy(), state.buffers["u"].codes.copy()
    x1, state1 = rule.step(x, lambda y: y**3, state)
    x_copy, codes = x1.copy(), state1.buffers["u"].codes.copy()
    x2, state2 = rule.step(x1, lambda y: y**3, state1)
    assert np.array_equal(x1, x_copy) and np.array_equal(state1.buffers["u"].codes, codes)
    assert x2 is not x1 and state2.buffers["u"].codes is not codes
    assert np.array_equal(x, x_before)
    assert np.array_equal(state.buffers["u"].codes, codes_before)
    assert dynamic_map(True)[codes_before[0]] == 0


def test_sgd_keeps_no_state():
    assert state_bytes(EightBit(SGD()), np.zeros(100)) == 0


# --- Bytes, measured from the state --------------------------------------------------


@pytest.mark.parametrize("n", [1, 2048, 5000, 2048 * 3])
def test_adam_eight_bit_bytes(n):
    rule = EightBit(Adam())
    x = np.zeros(n)
    expected = 2 * n + 2 * 4 * math.ceil(n / 2048)  # two codes and two float32 maxima
    assert state_bytes(rule, x) == expected
    _, state = rule.step(x, lambda y: np.ones_like(y), rule.init(x))
    assert held_bytes(state) == expected
    if n % 2048 == 0:
        assert state_bytes(rule, x) / n == 2 + 8 / 2048


# --- Deviation from full precision ---------------------------------------------------


def paths(quantization, steps=200):
    p = problems.MatrixLeastSquares((64, 48), (10.0, 10.0), seed=0)
    full, eight = Adam(lr=1e-2), EightBit(Adam(lr=1e-2), quantization=quantization)
    x, y, s, r = p.start, p.start, full.init(p.start), eight.init(p.start)
    for _ in range(steps):
        x, s = full.step(x, p.grad, s)
        y, r = eight.step(y, p.grad, r)
    return np.linalg.norm(y - x) / np.linalg.norm(x - p.start)


def test_deviation_from_full_precision():
    # measured: about 0.067 (dynamic) and 48 (linear) after 200 steps
    assert paths("dynamic") < 0.1
    assert paths("linear") > 10


def test_chapter_deviation_on_the_digits_network():
    """What the chapter prints: one epoch of the deep digits network."""
    result = memory.deviation(Adam(lr=3e-3), EightBit(Adam(lr=3e-3)), epochs=1)
    worst = max(result.per_layer, key=result.per_layer.get)
    assert worst == "W1" and result.per_layer["W1"] > 1
    assert all(v < 0.1 for k, v in result.per_layer.items() if k != "W1")
    assert abs(result.loss_8 - result.loss_32) < 0.01
    small = memory.deviation(Adam(lr=3e-3), EightBit(Adam(lr=3e-3), block_size=64), epochs=1)
    assert max(small.per_layer.values()) < 0.1


# --- Bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [0, -3, 2.5, True])
def test_bad_block_size(block_size):
    with pytest.raises(ValueError, match="block_size"):
        EightBit(Adam(), block_size=block_size)


def test_bad_input():
    with pytest.raises(ValueError, match="quantization must be one of"):
        EightBit(Adam(), quantization="log")
    with pytest.raises(TypeError, match="must be an optnotes rule"):
        EightBit("adam")
    with pytest.raises(ValueError, match="x0 must be finite"):
        EightBit(Adam()).init(np.array([1.0, np.nan]))
    rule = EightBit(Adam())
    x = np.ones(4)
    with pytest.raises(FloatingPointError, match="not finite"):
        rule.step(x, lambda y: y * np.nan, rule.init(x))
    with pytest.raises(ValueError, match="not finite"):
        quantize(np.array([1.0, np.inf]), dynamic_map(True), 4)
    with pytest.raises(ValueError, match="float32"):
        quantize(np.array([1.0, 1e39]), dynamic_map(True), 4)
    with pytest.raises(TypeError, match="EightBitState"):
        rule.step(x, lambda y: y, Adam().init(x))
    with pytest.raises(ValueError, match="shape"):
        rule.step(np.ones(5), lambda y: y, rule.init(x))
    with pytest.raises(ValueError, match="negative entries"):
        mixed = np.array([1.0, -1.0])
        unsigned = EightBit(Momentum(), unsigned=("u",))
        unsigned.step(mixed, lambda y: y, unsigned.init(mixed))
    by_layer = ByLayer(Adam())
    with pytest.raises(ValueError, match="x0 must be an array"):
        EightBit(by_layer).init({"W": np.ones((2, 2))})


def test_a_rule_whose_buffers_are_not_shaped_like_x():
    factored = pytest.importorskip("optnotes.rules.factored")
    with pytest.raises(ValueError, match="shaped like the parameters"):
        EightBit(factored.Adafactor()).init(np.ones((4, 3)))


def test_state_of_another_rule():
    state = EightBitState(0, {"u": EightBit(Momentum()).init(np.ones(3)).buffers["u"]})
    with pytest.raises(ValueError, match="keeps"):
        EightBit(Adam()).step(np.ones(3), lambda y: y, state)


# --- The memory table -------------------------------------------------------------------


def test_gpt2_parameter_counts():
    def count(d, L, V, C):  # embeddings, 12 d^2 + 13 d a block, final layer norm
        return V * d + C * d + L * (12 * d * d + 13 * d) + 2 * d

    assert memory.parameters(memory.gpt2(768, 12)) == count(768, 12, 50257, 1024) == 124_439_808
    assert memory.parameters(memory.gpt2(**memory.MODELS["1e9"])) == 1_557_611_200
    n = memory.parameters(memory.gpt2(**memory.MODELS["1e6"]))
    assert n == count(128, 5, 256, 256) and 0.9e6 < n < 1.1e6


def test_adam_fit():
    f = memory.fit(Adam())
    assert (f.a, f.b, f.c, f.a_vec, f.c_vec) == (2, 0, 0, 2, 0)
    assert memory.fit(SGD()).a == 0


def test_fits_on_held_out_shapes_and_a_small_model():
    shapes = memory.gpt2(d=8, layers=2, vocab=16, context=8)
    params = {k: np.zeros(s) for k, s in shapes.items()}
    for rule in memory.book_rules():
        f = memory.fit(rule)
        for shape in ((9, 13), (2, 17)):
            assert f.numbers(shape) * 8 == state_bytes(rule, np.zeros(shape)), f.name
        vectors = None if f.vectors == f.name else AdamW()
        held = held_bytes(ByLayer(rule, vectors=vectors).init(params))
        assert held == 8 * memory.state_numbers(f, shapes), f.name
        e = memory.fit_eight_bit(rule)
        if e is not None and f.a > 0 and f.d == 0 and f.vectors == f.name:
            eight = ByLayer(EightBit(rule))
            assert held_bytes(eight.init(params)) == memory.eight_bit_bytes(e, shapes), f.name


def test_table_rows():
    rows = {r.name: r for r in memory.table([SGD(), Adam()])}
    assert rows["Adam"].per_param["1e9"] == 8.0 and rows["SGD"].per_param["1e9"] == 0.0
    n = 1_557_611_200
    assert rows["Adam"].total_gb["1e9"] == pytest.approx(16 * n / 1e9)
    assert rows["Adam"].eight_bit_per_param["1e9"] == pytest.approx(2 + 8 / 2048, abs=1e-3)
    assert rows["SGD"].eight_bit_per_param is None
    assert "| Adam | 8.000 |" in memory.markdown(list(rows.values()))


def test_book_rules_each_once():
    names = [type(r).__name__ for r in memory.book_rules()]
    assert len(names) == len(set(names))
    assert "RAdam" in names
    sign = pytest.importorskip("optnotes.rules.sign")
    if hasattr(sign, "Signum"):
        assert "Signum" in names and "SignSGD" in names


def test_which_rules_change_state_per_parameter_with_size():
    """Buffers shaped like the parameters cost the same per parameter at any
    size. Adafactor's factors (m + n per matrix) fall as the matrices grow;
    Shampoo's and SOAP's m x m and n x n matrices grow with the vocabulary's
    50257 rows; Muon's matrices keep one buffer but its vectors (AdamW) two,
    and the vectors' share falls as the model grows."""
    rows = {r.name: r for r in memory.table(memory.book_rules())}
    ratio = {
        k: r.per_param["1e9"] / r.per_param["1e6"] for k, r in rows.items() if r.per_param["1e6"]
    }
    changed = sorted(k for k, q in ratio.items() if q != 1)
    assert changed == ["Adafactor", "Muon", "SOAP", "Shampoo"]
    assert ratio["Adafactor"] < 1 and ratio["Muon"] < 1
    assert ratio["Shampoo"] > 1 and ratio["SOAP"] > 1
    assert 4 < rows["Muon"].per_param["1e6"] < 4.1


def test_blocks_of_64_are_the_first_layers_rows():
    """The page's exercise: W1 has a row per input pixel, flattened row by row,
    so a block of 64 is one pixel's weights and a block of 2048 is 32 pixels'."""
    shape = problems.deep_digits_network().named(problems.deep_digits_network().init(0))["W1"].shape
    assert shape == (64, 64) and 2048 // shape[1] == 32
    v = np.abs(np.random.default_rng(0).normal(size=shape)) * np.logspace(-6, 0, 64)[:, None]
    q = quantize(v, dynamic_map(False), 64)
    np.testing.assert_array_equal(q.absmax, v.max(axis=1).astype(np.float32))
    q = quantize(v, dynamic_map(False), 2048)
    np.testing.assert_array_equal(q.absmax, v.reshape(2, 32 * 64).max(axis=1).astype(np.float32))


# --- The experiment memory-width ------------------------------------------------------------


def test_width_experiment_claims():
    """The page's claims on the slider over d (48 layers): at the default d = 1600
    the bars are the table's GPT-2 XL; at every width of the slider's grid SGD,
    Momentum, Adam and Lion keep 0, 4, 8, 4 bytes of state per parameter, 8-bit
    Adam about 2, and Adafactor's, counted here as m + n numbers a matrix and n a
    vector (float32), falls as d grows."""
    experiment = memory.width_experiment()
    assert experiment.controls["d"].default == memory.MODELS["1e9"]["d"] == 1600
    assert experiment.controls["layers"].default == memory.MODELS["1e9"]["layers"]
    fits = memory.width_fits()
    xl = memory.footprint(fits, memory.gpt2(**memory.MODELS["1e9"]))
    Adafactor = pytest.importorskip("optnotes.rules.factored").Adafactor
    table = {r.name: r for r in memory.table([Adam(), Adafactor()])}
    assert xl["Adam"] == table["Adam"].per_param["1e9"]
    assert xl["Adafactor"] == pytest.approx(table["Adafactor"].per_param["1e9"], rel=1e-12)
    assert xl["8-bit Adam"] == pytest.approx(table["Adam"].eight_bit_per_param["1e9"], rel=1e-12)

    def adafactor_bytes(shapes):
        numbers = sum(s[0] + s[1] if len(s) == 2 else s[0] for s in shapes.values())
        return 4 * numbers / sum(math.prod(s) for s in shapes.values())

    widths = experiment.controls["d"].grid()
    assert widths[0] == 64 and widths[-1] == 4096
    counts = [sum(math.prod(s) for s in memory.gpt2(d, 48).values()) for d in widths]
    assert np.all(np.diff(counts) > 0)  # every total, (8 + state) bytes each, grows
    shares = []
    for d in widths:
        shapes = memory.gpt2(d, 48)
        per = memory.footprint(fits, shapes)
        assert {k: per[k] for k in ("SGD", "Momentum", "Adam", "Lion")} == {
            "SGD": 0,
            "Momentum": 4,
            "Adam": 8,
            "Lion": 4,
        }
        assert per["8-bit Adam"] == pytest.approx(2, abs=0.01)
        assert per["Adafactor"] == pytest.approx(adafactor_bytes(shapes), rel=1e-12)
        shares.append(per["Adafactor"])
    assert np.all(np.diff(shares) < 0)
