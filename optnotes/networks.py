r"""Small classifiers with hand-written forward and backward passes (numpy only).

A :class:`Network` keeps its parameters as one flat vector, so every rule in
``optnotes.rules`` trains it unchanged. ``Network((64, 10))`` is multinomial
logistic regression; ``Network((64, 32, 10))`` a multilayer perceptron with
one tanh hidden layer. The loss is the mean softmax cross-entropy

$$ L(w) = \frac1n \sum_{i=1}^n \Bigl(\log \sum_c e^{z_{ic}} - z_{i y_i}\Bigr), $$

with :math:`z` the last layer's outputs; the backward pass is checked against
finite differences in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from .layers import flatten, layout_of, unflatten


class Network:
    """A fully connected classifier: tanh hidden layers, softmax output."""

    def __init__(self, sizes):
        sizes = tuple(_checks.whole("a layer size", s, low=1) for s in sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs an input and an output size, got {sizes}")
        self.sizes = sizes
        self.shapes = [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        self.n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.layout = tuple(
            (f"{kind}{k}", shape)
            for k, (w_shape, b_shape) in enumerate(self.shapes, start=1)
            for kind, shape in (("W", w_shape), ("b", b_shape))
        )

    def __repr__(self) -> str:
        return f"Network({self.sizes}, {self.n_params} parameters)"

    def init(self, seed: int = 0, scale: float = 1.0) -> np.ndarray:
        """Glorot-uniform weights (Glorot & Bengio 2010, eq. 16), times ``scale``,
        and zero biases, seeded, as one flat vector: a layer of a inputs and b
        outputs draws its weights from U[−l, l] with l = scale·√(6 / (a + b))."""
        rng = np.random.default_rng(_checks.whole("seed", seed))
        scale = _checks.positive("scale", scale)
        parts = []
        for (a, b), _ in self.shapes:
            limit = scale * np.sqrt(6 / (a + b))
            parts += [rng.uniform(-limit, limit, size=a * b), np.zeros(b)]
        return np.concatenate(parts)

    def layers(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The flat vector as (W, b) per layer (views, not copies)."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.n_params,):
            raise ValueError(f"{self!r} takes {self.n_params} parameters, got shape {w.shape}")
        out, i = [], 0
        for (a, b), _ in self.shapes:
            W = w[i : i + a * b].reshape(a, b)
            i += a * b
            out.append((W, w[i : i + b]))
            i += b
        return out

    def named(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """The flat vector as named layers, {"W1": (a, b) matrix, "b1": (b,) vector,
        "W2": ...}, in the order of :attr:`layout` (copies)."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.n_params,):
            raise ValueError(f"{self!r} takes {self.n_params} parameters, got shape {w.shape}")
        return unflatten(w, self.layout)

    def flat(self, params: dict) -> np.ndarray:
        """Named layers (as :meth:`named` gives) back as the flat vector."""
        if not isinstance(params, dict) or layout_of(params) != self.layout:
            got = layout_of(params) if isinstance(params, dict) else type(params).__name__
            raise ValueError(f"{self!r} has layers {self.layout}, got {got}")
        return flatten(params)

    def _check_data(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (n, {self.sizes[0]}), got {X.shape}")
        if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
            raise ValueError(f"y must hold {X.shape[0]} integer labels, got {y.shape} {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.sizes[-1]):
            raise ValueError(f"labels must lie in 0..{self.sizes[-1] - 1}")
        return X, y

    def forward(self, w, X) -> list[np.ndarray]:
        """The activations of every layer, input first, output logits last."""
        h = [np.asarray(X, dtype=np.float64)]
        layers = self.layers(w)
        for k, (W, b) in enumerate(layers):
            z = h[-1] @ W + b
            h.append(z if k == len(layers) - 1 else np.tanh(z))
        return h

    def loss_and_grad(self, w, X, y) -> tuple[float, np.ndarray]:
        """Mean cross-entropy and its gradient with respect to the flat parameters."""
        X, y = self._check_data(X, y)
        h = self.forward(w, X)
        z = h[-1]
        log_norm = _log_sum_exp(z)
        n = len(y)
        loss = float(np.mean(log_norm - z[np.arange(n), y]))
        # Backward: softmax minus one-hot, then through each layer.
        dz = np.exp(z - log_norm[:, None])
        dz[np.arange(n), y] -= 1
        dz /= n
        grads = []
        for k, (W, _) in reversed(list(enumerate(self.layers(w)))):
            grads.append((h[k].T @ dz, dz.sum(axis=0)))
            if k > 0:
                dz = (dz @ W.T) * (1 - h[k] ** 2)  # tanh' = 1 - tanh²
        flat = [part.ravel() for dW, db in reversed(grads) for part in (dW, db)]
        return loss, np.concatenate(flat)

    def loss(self, w, X, y) -> float:
        """Mean cross-entropy (the forward pass alone)."""
        X, y = self._check_data(X, y)
        z = self.forward(w, X)[-1]
        return float(np.mean(_log_sum_exp(z) - z[np.arange(len(y)), y]))

    def accuracy(self, w, X, y) -> float:
        X, y = self._check_data(X, y)
        return float(np.mean(self.forward(w, X)[-1].argmax(axis=1) == y))

    def minibatch_oracle(self, X, y, batch_size: int, seed: int = 0):
        """A ``grad_fn`` that walks through the data in shuffled minibatches,
        reshuffling at every epoch (seeded)."""
        X, y = self._check_data(X, y)
        batch_size = _checks.whole("batch_size", batch_size, low=1)
        if batch_size > len(y):
            raise ValueError(f"batch_size must be at most {len(y)}, got {batch_size}")
        rng = np.random.default_rng(_checks.whole("seed", seed))
        order, position = rng.permutation(len(y)), 0

        def grad_fn(w):
            nonlocal order, position
            if position + batch_size > len(y):
                order, position = rng.permutation(len(y)), 0
            batch = order[position : position + batch_size]
            position += batch_size
            return self.loss_and_grad(w, X[batch], y[batch])[1]

        return grad_fn


def _log_sum_exp(z: np.ndarray) -> np.ndarray:
    """log Σ_j exp z_j for each row, computed without overflow."""
    z_max = z.max(axis=1, keepdims=True)
    return z_max[:, 0] + np.log(np.exp(z - z_max).sum(axis=1))


@dataclass(frozen=True)
class History:
    """Per-epoch training loss, test accuracy and test loss of one run (epoch 0 =
    start)."""

    train_loss: np.ndarray
    test_accuracy: np.ndarray
    diverged_at: int | None  # the epoch in which the run blew up, if it did
    test_loss: np.ndarray | None = None


def train(
    rule,
    network: Network,
    data,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    scale: float = 1.0,
) -> History:
    """Train ``network`` from its seeded start with ``rule``; evaluate after every epoch.
    ``scale`` multiplies the initial weights (:meth:`Network.init`).

    ``data`` is (X_train, y_train, X_test, y_test). A run that blows up stops
    and reports the epoch, and its curves end there.
    """
    X, y, X_test, y_test = data
    epochs = _checks.whole("epochs", epochs, low=1)
    grad_fn = network.minibatch_oracle(X, y, batch_size, seed)
    steps = len(y) // batch_size
    w = network.init(seed, scale)
    state = rule.init(w)
    losses, accuracies = [network.loss(w, X, y)], [network.accuracy(w, X_test, y_test)]
    test_losses = [network.loss(w, X_test, y_test)]
    diverged = None
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            try:
                for _ in range(steps):
                    w, state = rule.step(w, grad_fn, state)
                loss = network.loss(w, X, y)
                if not np.isfinite(loss):
                    raise FloatingPointError("the loss is not finite")
            except FloatingPointError:
                diverged = epoch
                break
            losses.append(loss)
            accuracies.append(network.accuracy(w, X_test, y_test))
            test_losses.append(network.loss(w, X_test, y_test))
    return History(np.array(losses), np.array(accuracies), diverged, np.array(test_losses))
