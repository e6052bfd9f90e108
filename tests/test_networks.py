"""The chapter's networks: gradients against finite differences, seeded training."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes import data, networks


def finite_difference(network, w, X, y, h=1e-6):
    grad = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        grad[i] = (network.loss(w + e, X, y) - network.loss(w - e, X, y)) / (2 * h)
    return grad


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.sampled_from([(4, 3), (4, 5, 3), (3, 6, 4, 2)]),
    seed=st.integers(0, 1000),
    n=st.integers(1, 12),
)
def test_backward_pass_matches_finite_differences(sizes, seed, n):
    network = networks.Network(sizes)
    rng = np.random.default_rng(seed)
    w = network.init(seed) + 0.1 * rng.normal(size=network.n_params)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    _, grad = network.loss_and_grad(w, X, y)
    np.testing.assert_allclose(grad, finite_difference(network, w, X, y), rtol=1e-5, atol=1e-8)


def test_logistic_regression_loss_by_hand():
    # One example, zero weights: the loss is log(classes), the gradient of the
    # bias is softmax minus one-hot = 1/3 - [0, 1, 0].
    network = networks.Network((2, 3))
    w = np.zeros(network.n_params)
    loss, grad = network.loss_and_grad(w, np.array([[1.0, 2.0]]), np.array([1]))
    assert loss == pytest.approx(np.log(3))
    np.testing.assert_allclose(grad[-3:], [1 / 3, -2 / 3, 1 / 3])
    np.testing.assert_allclose(grad[:6].reshape(2, 3), np.outer([1.0, 2.0], [1 / 3, -2 / 3, 1 / 3]))


def test_training_is_reproducible_and_learns():
    digits = data.digits()
    network = networks.Network((64, 16, 10))
    a = networks.train(on.Adam(lr=3e-3), network, digits, epochs=3)
    b = networks.train(on.Adam(lr=3e-3), network, digits, epochs=3)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    np.testing.assert_array_equal(a.test_accuracy, b.test_accuracy)
    assert a.train_loss[-1] < a.train_loss[0] / 3
    assert a.test_accuracy[-1] > 0.85


def test_a_diverging_run_reports_its_epoch():
    spirals = data.spirals(per_class=50)
    # tanh saturates, so only an overflowing step makes this network blow up.
    history = networks.train(on.SGD(lr=1e308), networks.Network((2, 8, 3)), spirals, epochs=5)
    assert history.diverged_at == 1
    assert len(history.train_loss) == 1


def test_data_sets():
    X, y, Xt, yt = data.digits()
    assert X.shape[1] == 64 and X.max() <= 1.0 and set(np.unique(y)) == set(range(10))
    assert len(y) + len(yt) == 1797
    a, b = data.spirals(seed=3), data.spirals(seed=3)
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)


def test_bad_network_input():
    network = networks.Network((4, 3))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 4\), got \(2, 5\)"):
        network.loss(network.init(), np.zeros((2, 5)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        network.loss(network.init(), np.zeros((2, 4)), np.array([0, 3]))
    with pytest.raises(ValueError, match="takes 15 parameters"):
        network.loss(np.zeros(14), np.zeros((2, 4)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="sizes needs an input and an output size"):
        networks.Network((4,))
    with pytest.raises(ValueError, match="batch_size must be at most 2"):
        network.minibatch_oracle(np.zeros((2, 4)), np.zeros(2, dtype=int), batch_size=3)


def test_init_is_glorot_uniform_times_the_scale():
    # Glorot & Bengio (2010), eq. 16: U[-l, l] with l = sqrt(6 / (a + b)).
    net = networks.Network((64, 32, 10))
    for scale in (0.5, 1.0, 3.0):
        layers = net.layers(net.init(seed=1, scale=scale))
        for (W, b), (a, c) in zip(layers, ((64, 32), (32, 10)), strict=True):
            limit = scale * np.sqrt(6 / (a + c))
            assert np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
            assert np.var(W) == pytest.approx(limit**2 / 3, rel=0.15)
            assert not b.any()
    with pytest.raises(ValueError, match=r"scale must lie in \(0, inf\], got 0"):
        net.init(scale=0.0)


def test_equal_hidden_units_stay_equal_under_sgd():
    # network.md: identical units get identical gradients (Goodfellow et al.
    # §8.4); checked on the gradient of one batch, unit by unit.
    net = networks.Network((64, 32, 10))
    X, y, _, _ = data.digits()
    w = np.full(net.n_params, 0.05)
    _, g = net.loss_and_grad(w, X[:64], y[:64])
    dW1 = net.layers(g)[0][0]
    np.testing.assert_allclose(dW1, np.repeat(dW1[:, :1], 32, axis=1), rtol=0, atol=1e-15)


def test_digits_are_scikit_learns_without_importing_it():
    """data.digits reads the file scikit-learn's load_digits reads: the same
    images and labels, split the same way."""
    from sklearn.datasets import load_digits

    images = load_digits()
    expected = data.split(images.data / 16.0, images.target.astype(np.int64), 0.2, 0)
    for ours, theirs in zip(data.digits(), expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype


def test_reading_the_digits_does_not_import_scikit_learn():
    import subprocess
    import sys

    check = "import sys; from optnotes import data; data.digits(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
