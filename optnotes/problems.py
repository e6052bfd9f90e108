r"""Test problems for the chapters: value, gradient, a default start, minima, bounds.

Every problem takes points with the coordinates on the first axis: a point of
shape ``(2,)`` or a whole grid of shape ``(2, H, W)``, so a contour background is
one call::

    X, Y = np.meshgrid(np.linspace(-5, 5, 200), np.linspace(-3, 3, 150))
    Z = problem.value(np.array([X, Y]))        # shape (150, 200)

``problem.grad`` is the ``grad_fn`` the rules call.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks
from .networks import Network


class Problem:
    """A function of two variables to minimise, with what a figure needs to draw it."""

    name: str = "problem"
    dim: int = 2
    start: tuple = (0.0, 0.0)
    minima: tuple = ()  # points where the minimum is attained (none for unbounded ones)
    bounds: tuple = ((-1.0, 1.0), (-1.0, 1.0))  # ((x_min, x_max), (y_min, y_max)) to plot
    log_contours: bool = False  # contours on a log scale (for steep valleys)

    def value(self, x) -> np.ndarray:
        return self._value(self._point(x))

    def grad(self, x) -> np.ndarray:
        return self._grad(self._point(x))

    def _point(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[0] != self.dim:
            raise ValueError(
                f"{self.name} takes points with {self.dim} coordinates on the first axis "
                f"(shape ({self.dim},) or ({self.dim}, ...)), got shape {x.shape}"
            )
        return x

    def __repr__(self) -> str:
        return f"<{self.name}>"


class Quadratic(Problem):
    r""":math:`f(x) = \tfrac12 x^\top H x` with a symmetric positive semi-definite H.

    Its minimum is at 0 when H is positive definite; the eigenvalues of H are the
    curvatures the stability analysis of the book uses.
    """

    def __init__(self, hessian, *, name="quadratic", start=(-4.5, 2.0), bounds=None):
        hessian = _checks.parameters("hessian", hessian)
        if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1]:
            raise ValueError(f"hessian must be a square matrix, got shape {hessian.shape}")
        if not np.allclose(hessian, hessian.T):
            raise ValueError("hessian must be symmetric")
        self.hessian = hessian
        self.eigenvalues = np.linalg.eigvalsh(hessian)
        if self.eigenvalues[0] < -1e-12 * max(1.0, abs(self.eigenvalues[-1])):
            raise ValueError(
                f"hessian must be positive semi-definite, its eigenvalues are {self.eigenvalues}"
            )
        self.dim = hessian.shape[0]
        self.name = name
        self.start = tuple(float(s) for s in start)
        self.minima = (tuple([0.0] * self.dim),)
        self.bounds = bounds or ((-5.0, 5.0), (-2.5, 2.5))

    def _value(self, x):
        return 0.5 * np.einsum("i...,ij,j...->...", x, self.hessian, x)

    def _grad(self, x):
        return np.einsum("ij,j...->i...", self.hessian, x)


def ravine(kappa: float = 20.0, angle: float = 0.0) -> Quadratic:
    r"""The ravine: a quadratic steep across (curvature 1) and shallow along
    (curvature :math:`1/\kappa`), turned by ``angle`` radians.

    Unturned, :math:`f(x, y) = \tfrac12 (x^2/\kappa + y^2)`: steep vertically,
    shallow horizontally. Gradient descent is stable for :math:`\alpha < 2`.
    """
    kappa = _checks.number("kappa", kappa, low=1.0)
    angle = _checks.number("angle", angle)
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    hessian = rotation @ np.diag([1.0 / kappa, 1.0]) @ rotation.T
    return Quadratic(hessian, name=f"ravine (κ = {kappa:g})")


class Rosenbrock(Problem):
    r""":math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`, minimum at :math:`(a, a^2)`."""

    name = "Rosenbrock"
    start = (-1.2, 1.0)
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    log_contours = True

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = _checks.number("a", a)
        self.b = _checks.positive("b", b)
        self.minima = ((self.a, self.a**2),)

    def _value(self, p):
        x, y = p
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _grad(self, p):
        x, y = p
        return np.stack([-2 * (self.a - x) - 4 * self.b * x * (y - x**2), 2 * self.b * (y - x**2)])


class Beale(Problem):
    r""":math:`f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`,
    minimum 0 at :math:`(3, 0.5)`."""

    name = "Beale"
    start = (1.0, 1.5)
    minima = ((3.0, 0.5),)
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    log_contours = True

    def _value(self, p):
        x, y = p
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2

    def _grad(self, p):
        x, y = p
        r1, r2, r3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
        dx = 2 * r1 * (y - 1) + 2 * r2 * (y**2 - 1) + 2 * r3 * (y**3 - 1)
        dy = 2 * r1 * x + 4 * r2 * x * y + 6 * r3 * x * y**2
        return np.stack([dx, dy])


class Saddle(Problem):
    r""":math:`f(x, y) = \tfrac12 (x^2 - y^2) + \tfrac14 y^4`: a saddle at the origin
    between two minima at :math:`(0, \pm 1)`, value :math:`-1/4`.

    The default start lies just off the saddle's attracting direction, so a method
    first slides towards the saddle and then has to escape it.
    """

    name = "saddle"
    start = (2.0, 1e-3)
    minima = ((0.0, 1.0), (0.0, -1.0))
    bounds = ((-2.5, 2.5), (-2.0, 2.0))

    def _value(self, p):
        x, y = p
        return 0.5 * (x**2 - y**2) + 0.25 * y**4

    def _grad(self, p):
        x, y = p
        return np.stack([x, -y + y**3])


class Plateau(Problem):
    r""":math:`f(x, y) = 1 - \exp\bigl(-\tfrac12 (x^2 + y^2)\bigr)`: a well at the
    origin inside a plateau where the gradient is nearly zero."""

    name = "plateau"
    start = (2.5, 2.0)
    minima = ((0.0, 0.0),)
    bounds = ((-3.0, 3.0), (-3.0, 3.0))

    def _value(self, p):
        x, y = p
        return 1 - np.exp(-0.5 * (x**2 + y**2))

    def _grad(self, p):
        x, y = p
        e = np.exp(-0.5 * (x**2 + y**2))
        return np.stack([x * e, y * e])


class LeastSquares(Problem):
    r"""Linear least squares on generated, seeded data: the stochastic problem.

    ``density`` makes a feature rare: with ``density=(1.0, 0.05)`` the second
    feature is non-zero in about 5% of the examples (Adagrad's case).

    :math:`f(w) = \frac{1}{2n} \sum_{i=1}^n (a_i^\top w - b_i)^2` with
    :math:`b_i = a_i^\top w^\ast + \text{noise}`. The features have scales
    ``scales`` (so the problem is a ravine of condition number about
    ``(scales[1] / scales[0])**2``). :meth:`minibatch_oracle` gives a ``grad_fn``
    that averages the gradient over a random minibatch on every call.
    """

    name = "least squares"
    start = (-3.0, 3.0)
    bounds = ((-4.0, 4.0), (-4.0, 4.0))

    def __init__(
        self, n: int = 500, noise: float = 0.5, scales=(0.5, 1.5), seed: int = 0, density=(1.0, 1.0)
    ):
        self.n = _checks.whole("n", n, low=2)
        self.noise = _checks.non_negative("noise", noise)
        self.seed = _checks.whole("seed", seed)
        scales = _checks.parameters("scales", scales)
        if scales.shape != (2,) or np.any(scales <= 0):
            raise ValueError(f"scales must be two positive numbers, got {scales}")
        density = _checks.parameters("density", density)
        if density.shape != (2,) or np.any(density <= 0) or np.any(density > 1):
            raise ValueError(f"density must be two fractions in (0, 1], got {density}")
        rng = np.random.default_rng(self.seed)
        self.w_true = np.array([1.0, -1.0])
        # A feature with density 0.05 is non-zero in about 5% of the examples: a
        # rare feature, whose gradient is zero in most minibatches.
        present = rng.random(size=(self.n, 2)) < density
        present[rng.integers(self.n, size=2), [0, 1]] = True  # each feature somewhere
        self.features = rng.normal(size=(self.n, 2)) * scales * present
        self.targets = self.features @ self.w_true + self.noise * rng.normal(size=self.n)
        self.hessian = self.features.T @ self.features / self.n
        self.c = self.features.T @ self.targets / self.n
        self.b2 = self.targets @ self.targets / (2 * self.n)
        w_star = np.linalg.solve(self.hessian, self.c)
        self.minima = (tuple(w_star),)

    def _value(self, w):
        quadratic = 0.5 * np.einsum("i...,ij,j...->...", w, self.hessian, w)
        return quadratic - np.einsum("i,i...->...", self.c, w) + self.b2

    def _grad(self, w):
        c = self.c.reshape((2,) + (1,) * (w.ndim - 1))
        return np.einsum("ij,j...->i...", self.hessian, w) - c

    def minibatch_oracle(self, batch_size: int, seed: int = 0):
        """A ``grad_fn`` whose every call averages the gradient over ``batch_size``
        examples drawn without replacement (a fresh draw each call, seeded)."""
        batch_size = _checks.whole("batch_size", batch_size, low=1)
        if batch_size > self.n:
            raise ValueError(f"batch_size must be at most n = {self.n}, got {batch_size}")
        rng = np.random.default_rng(_checks.whole("seed", seed))

        def grad_fn(w):
            w = self._point(w)
            if w.shape != (2,):
                raise ValueError(f"the minibatch gradient takes one point (2,), got {w.shape}")
            batch = rng.choice(self.n, size=batch_size, replace=False)
            a, b = self.features[batch], self.targets[batch]
            return a.T @ (a @ w - b) / batch_size

        return grad_fn

    def minibatch_oracles(self, batch_size: int, seeds):
        """Many runs at once: a ``grad_fn`` of points of shape (2, k) whose column
        j gets the gradient ``minibatch_oracle(batch_size, seeds[j])`` would give
        it, draw for draw. A rule that treats each entry alone (SGD, momentum,
        Adagrad, the Adam family, averaging) then makes k seeded runs one run of
        a (2, k) array, with the same numbers; rules that take norms or factor
        matrices (clipping, LARS, LAMB, Adafactor) couple the columns."""
        oracles = [self.minibatch_oracle(batch_size, seed) for seed in seeds]

        def grad_fn(w):
            w = self._point(w)
            if w.shape != (2, len(oracles)):
                raise ValueError(
                    f"these oracles take one point per seed, shape (2, {len(oracles)}), "
                    f"got {w.shape}"
                )
            return np.stack([oracle(w[:, j]) for j, oracle in enumerate(oracles)], axis=1)

        return grad_fn

    def batches(self, batch_size: int, seed: int = 0):
        """Minibatch objectives, one per step, without end: each has ``value`` and
        ``grad`` of the loss on its own batch (drawn as :meth:`minibatch_oracle`
        draws them), for the rules that search along a line."""
        batch_size = _checks.whole("batch_size", batch_size, low=1)
        if batch_size > self.n:
            raise ValueError(f"batch_size must be at most n = {self.n}, got {batch_size}")
        rng = np.random.default_rng(_checks.whole("seed", seed))
        while True:
            batch = rng.choice(self.n, size=batch_size, replace=False)
            yield LeastSquares.Batch(self.features[batch], self.targets[batch])

    class Batch:
        """Least squares on one minibatch: its loss and gradient at a point (2,)."""

        def __init__(self, features, targets):
            self.features, self.targets = features, targets

        def value(self, w):
            return 0.5 * np.mean((self.features @ w - self.targets) ** 2)

        def grad(self, w):
            return self.features.T @ (self.features @ w - self.targets) / len(self.targets)


class AdamCounterexample:
    r"""Reddi, Kale & Kumar (2018), Theorem 1: an online convex problem where Adam
    converges to the worst point.

    On :math:`x \in [-1, 1]` the loss at step t (counted from 1) is
    :math:`f_t(x) = Cx` when :math:`t \bmod 3 = 1` and :math:`-x` otherwise, C > 2. The
    average gradient :math:`(C - 2)/3` is positive, so the best point is -1. With
    :math:`\beta_1 = 0`, :math:`\beta_2 = 1/(1 + C^2)` and :math:`\alpha_t = \alpha/\sqrt t`,
    the rare large gradient C is forgotten before it comes back, and Adam drifts to +1.
    """

    def __init__(self, C: float = 3.0):
        self.C = _checks.number("C", C, low=2.0, low_open=True)
        self.beta2 = 1 / (1 + self.C**2)
        self.alpha = 0.9 * math.sqrt(1 - self.beta2)  # the theorem needs alpha < sqrt(1 - beta2)

    def gradient(self, t: int) -> float:
        """The gradient of f_t (t = 1, 2, ...): C, -1, -1, C, -1, -1, ..."""
        return self.C if t % 3 == 1 else -1.0

    def run(self, rule, steps: int) -> np.ndarray:
        """Online projected steps x ← clip(rule step, -1, 1) from 0; every iterate."""
        steps = _checks.whole("steps", steps)
        x, state = np.zeros(1), rule.init(np.zeros(1))
        xs = np.empty(steps + 1)
        xs[0] = 0.0
        for k in range(steps):
            g = np.array([self.gradient(k + 1)])
            x, state = rule.step(x, lambda _, g=g: g, state)
            x = np.clip(x, -1.0, 1.0)
            xs[k + 1] = x[0]
        return xs

    def average_regret(self, xs: np.ndarray) -> np.ndarray:
        """(1/T) Σ_t [f_t(x_t) − f_t(−1)] for T = 1, 2, ...: tends to 0 only at the optimum."""
        t = np.arange(1, len(xs))
        slope = np.where(t % 3 == 1, self.C, -1.0)
        regret = np.cumsum(slope * (xs[:-1] + 1.0))
        return regret / t


class HeavyBallCounterexample(Problem):
    r"""Lessard, Recht & Packard (2016), §4.6: a smooth strongly convex function of one
    variable on which heavy-ball momentum, tuned as for quadratics, never converges.

    .. math::

        f(x) = \begin{cases}
        \tfrac{25}{2} x^2 & x < 1 \\
        \tfrac12 x^2 + 24 x - 12 & 1 \le x < 2 \\
        \tfrac{25}{2} x^2 - 24 x + 36 & x \ge 2
        \end{cases}

    The pieces join with equal values and slopes, and :math:`f''` is 25 or 1, so f is
    m-strongly convex and L-smooth with m = 1, L = 25 (κ = 25); its minimum is 0 at
    x = 0. ``heavy_ball`` holds Polyak's quadratic tuning
    :math:`\alpha = 4/(\sqrt L + \sqrt m)^2`, :math:`\mu = ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2`;
    ``nesterov`` holds :math:`\alpha = 1/L`, :math:`\mu = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`.
    """

    name = "Lessard et al.'s function"
    dim = 1
    m, L = 1.0, 25.0
    start = (3.3,)
    minima = ((0.0,),)
    bounds = ((-3.0, 4.0),)
    heavy_ball = {"lr": 4 / (math.sqrt(25.0) + 1.0) ** 2, "mu": ((5.0 - 1) / (5.0 + 1)) ** 2}
    nesterov = {"lr": 1 / 25.0, "mu": (5.0 - 1) / (5.0 + 1)}

    def _value(self, p):
        (x,) = p
        return np.where(
            x < 1, 12.5 * x**2, np.where(x < 2, 0.5 * x**2 + 24 * x - 12, 12.5 * x**2 - 24 * x + 36)
        )

    def _grad(self, p):
        (x,) = p
        return np.stack([np.where(x < 1, 25 * x, np.where(x < 2, x + 24, 25 * x - 24))])


class Cliff(Problem):
    r"""A shallow bowl with a cliff across it (after Pascanu, Mikolov & Bengio 2013,
    Figure 6, where a recurrent network's loss has one):

    .. math:: f(x, y) = \tfrac{c}{2}(x^2 + y^2) + h\, \sigma\bigl(s (x - 1)\bigr),
              \qquad \sigma(u) = 1/(1 + e^{-u})

    The loss drops by about h (``height``) across the line x = 1, within a width of
    a few 1/s (``steepness``); there the slope reaches about :math:`h s/4`, far
    above the bowl's. A step taken on the cliff is that slope times the rate.
    """

    name = "cliff"
    start = (3.0, 1.5)
    bounds = ((-10.0, 4.0), (-3.0, 3.0))

    def __init__(self, height: float = 2.0, steepness: float = 20.0, curvature: float = 0.1):
        self.height = _checks.positive("height", height)
        self.steepness = _checks.positive("steepness", steepness)
        self.curvature = _checks.positive("curvature", curvature)
        # The minimum: on y = 0, where c x = -h s σ'(s(x - 1)); Newton from 0.
        x = 0.0
        for _ in range(50):
            x -= self._grad(np.array([x, 0.0]))[0] / self._second(x)
        self.minima = ((float(x), 0.0),)

    @staticmethod
    def _sigmoid(u):
        return 0.5 * (1 + np.tanh(u / 2))  # 1/(1 + e^-u), without overflow

    def _value(self, p):
        x, y = p
        bowl = 0.5 * self.curvature * (x**2 + y**2)
        return bowl + self.height * self._sigmoid(self.steepness * (x - 1))

    def _grad(self, p):
        x, y = p
        sig = self._sigmoid(self.steepness * (x - 1))
        cliff = self.height * self.steepness * sig * (1 - sig)
        return np.stack([self.curvature * x + cliff, self.curvature * y])

    def _second(self, x):
        sig = self._sigmoid(self.steepness * (x - 1))
        return self.curvature + self.height * self.steepness**2 * sig * (1 - sig) * (1 - 2 * sig)


PROBLEMS = {
    "ravine": ravine,
    "Rosenbrock": Rosenbrock,
    "Beale": Beale,
    "saddle": Saddle,
    "plateau": Plateau,
    "least squares": LeastSquares,
}
"""The named problems, each a constructor with defaults."""


# --- Problems with layers ------------------------------------------------------------


class MatrixLeastSquares:
    r"""Least squares in a weight matrix, ill-conditioned on both sides (seeded).

    $$ f(W) = \tfrac12 \bigl\| A\,(W - W^\ast)\,B \bigr\|_F^2, \qquad
       \nabla f(W) = A^\top A\,(W - W^\ast)\,B B^\top $$

    with :math:`W` of shape ``shape`` = (m, n), :math:`A` m × m and :math:`B`
    n × n. The Hessian of :math:`f` as a function of the entries of :math:`W` in
    row-major order (as ``ravel`` gives them) is the Kronecker product
    :math:`(A^\top A) \otimes (BB^\top)` (:meth:`hessian`): its eigenvalues are the
    products of the two sides' eigenvalues, which are spread evenly on a log scale
    from 1 to ``condition[0]`` (left) and to ``condition[1]`` (right), in random
    bases. The condition number is ``condition[0] * condition[1]`` (a side of
    length 1 has the single eigenvalue 1); the minimum is 0 at :math:`W^\ast`. A
    rule that sees the matrix as a vector of m n numbers (SGD, Adam) meets one
    ill-conditioned problem; a rule that preconditions each side (as Shampoo
    does, ``optnotes.rules.kronecker.Shampoo``) can undo both factors. :meth:`oracle` adds
    seeded Gaussian noise to the gradient.
    """

    def __init__(self, shape=(8, 6), condition=(10.0, 10.0), seed: int = 0):
        try:
            m, n = (_checks.whole("a side of the shape", s, low=1) for s in shape)
        except (TypeError, ValueError) as error:
            raise ValueError(f"shape must be two whole numbers (m, n): {error}") from None
        left, right = (_checks.number("condition", c, low=1.0) for c in condition)
        self.shape, self.condition = (m, n), (left, right)
        self.seed = _checks.whole("seed", seed)
        rng = np.random.default_rng(self.seed)
        self.left = _spd(rng, m, left)  # A^T A
        self.right = _spd(rng, n, right)  # B B^T
        self.w_star = rng.normal(size=(m, n))
        self.start = np.zeros((m, n))

    def __repr__(self) -> str:
        return f"<matrix least squares {self.shape}, condition {self.condition}>"

    def _matrix(self, W) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        if W.shape != self.shape:
            raise ValueError(f"this problem takes a matrix of shape {self.shape}, got {W.shape}")
        return W

    def value(self, W) -> float:
        D = self._matrix(W) - self.w_star
        return 0.5 * float(np.sum(D * (self.left @ D @ self.right)))

    def grad(self, W) -> np.ndarray:
        return self.left @ (self._matrix(W) - self.w_star) @ self.right

    def hessian(self) -> np.ndarray:
        """The Hessian over the entries of W in row-major order: A^T A ⊗ B B^T."""
        return np.kron(self.left, self.right)

    def oracle(self, noise: float, seed: int = 0):
        """A ``grad_fn``: the gradient plus independent Gaussian noise of standard
        deviation ``noise`` on every entry (seeded)."""
        noise = _checks.non_negative("noise", noise)
        rng = np.random.default_rng(_checks.whole("seed", seed))
        return lambda W: self.grad(W) + noise * rng.normal(size=self.shape)


def _spd(rng, size: int, condition: float) -> np.ndarray:
    """A symmetric positive definite matrix with eigenvalues 1 … condition,
    evenly spread on a log scale, in a random orthonormal basis."""
    Q, _ = np.linalg.qr(rng.normal(size=(size, size)))
    eigenvalues = np.geomspace(1.0, condition, size) if size > 1 else np.ones(1)
    return (Q * eigenvalues) @ Q.T


DEEP_DIGITS = (64, 64, 32, 10)
"""Layer sizes of the deeper digits network, three weight matrices (:mod:`optnotes.networks`)."""


def deep_digits_network():
    """The digits network with three weight matrices (64 → 64 → 32 → 10, tanh),
    for the chapters on layer-wise rates and memory; train it with
    ``networks.train`` on ``data.digits()``."""
    return Network(DEEP_DIGITS)
