"""optnotes against PyTorch, optax and Keras, run on the same inputs in float64.

Every statement of the book that a rule or schedule is "as PyTorch", "as Keras" or
"as optax", and every framework default it quotes, is checked here against the
installed framework (``requirements-frameworks.txt``: PyTorch 2.13 CPU, JAX, optax
0.2.8, Keras 3.15 on the JAX backend). Each comparison starts both sides from the
same point, feeds the framework the gradient that ``optnotes.problems`` computes at
the framework's own current parameters, and requires the iterates to agree step by
step to ``RTOL`` (relative, in the max norm) over ``STEPS`` steps. Where the book
says two forms differ, the test asserts the predicted relation between them and
that the difference is far above the tolerance, so that the comparison can fail.

Step counts, stated once (they are asserted by ``test_first_update_sees_step_0`` and
the schedule tests):

- ``optnotes`` calls ``lr(t)`` with ``t = 0`` on the first update.
- optax: a schedule sees the optimizer's ``count``, 0 on the first update.
- Keras: a ``LearningRateSchedule`` sees ``optimizer.iterations``, 0 on the first update.
- PyTorch: a scheduler sets the rate for epoch 0 when it is made; stepped after each
  ``optimizer.step()``, as PyTorch documents, the first update uses the epoch-0
  value, so ``scheduler.last_epoch`` plays the part of ``t``. Stepped once per epoch
  (the usual use), ``t`` counts epochs instead.
- Bias corrections: ``optnotes`` writes ``1 - beta**(t + 1)`` with t from 0; every
  framework writes ``1 - beta**step`` with step from 1: the same number.

Without the frameworks these tests skip, saying ``make frameworks`` installs them;
with OPTNOTES_REQUIRE_ALL=1 (CI) they fail instead.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

import optnotes as on
from optnotes import conventions
from optnotes import schedules as sch
from tests.conftest import ROOT

STEPS = 50
RTOL = 1e-9
FAR = 1e-6  # a difference the book calls real must exceed this (relative)


# The frameworks are the fixtures torch, jax, optax and keras of tests/conftest.py.


# --- Problems and drivers ---------------------------------------------------------------


def _quadratic5():
    """A 5-D quadratic with eigenvalues 0.1 ... 10 in seeded random axes."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    hessian = q @ np.diag(np.geomspace(0.1, 10.0, 5)) @ q.T
    return on.problems.Quadratic((hessian + hessian.T) / 2, start=tuple(rng.normal(size=5) * 2))


QUAD5 = _quadratic5()
ROSENBROCK = on.problems.Rosenbrock()
SMALL = on.problems.Quadratic(np.diag([1e-3, 3e-3]), start=(2.0, -1.0))  # gradients ~ 1e-3


def ours(rule, problem, steps=STEPS):
    return on.run(rule, problem.grad, problem.start, steps)


def ours_with_state(rule, problem, steps=STEPS):
    """Every iterate and every state of an optnotes rule."""
    x, state = np.array(problem.start), rule.init(problem.start)
    path, states = [x], [state]
    for _ in range(steps):
        x, state = rule.step(x, problem.grad, state)
        path.append(x)
        states.append(state)
    return np.array(path), states


def torch_path(torch, make, problem, steps=STEPS, scheduler=None, before_step=None):
    """Iterates of a torch.optim optimizer; the rate each update used; the optimizer."""
    p = torch.nn.Parameter(torch.tensor(problem.start, dtype=torch.float64))
    opt = make([p])
    schedule = scheduler(opt) if scheduler else None
    path, rates = [p.detach().numpy().copy()], []
    for k in range(steps):
        p.grad = torch.from_numpy(np.asarray(problem.grad(p.detach().numpy().copy())))
        if before_step:
            before_step(opt, k)
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if schedule:
            schedule.step()  # after optimizer.step(), as PyTorch documents
        path.append(p.detach().numpy().copy())
    return np.array(path), np.array(rates), opt


def optax_path(jax, optax, tx, problem, steps=STEPS, project=None):
    params = jax.numpy.asarray(problem.start, dtype=jax.numpy.float64)
    state = tx.init(params)
    path = [np.asarray(params)]
    for _ in range(steps):
        g = jax.numpy.asarray(problem.grad(np.asarray(params)))
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        path.append(np.asarray(params))
    return np.array(path), state


def counted_in_int64(jax, schedule):
    """An optax schedule fed its step count as int64. optax counts in int32, and some
    schedules (exponential_decay) then return float32 even with x64 enabled: a
    rounding of 1e-8, above the tolerance here. The count is the same number."""
    return lambda count: schedule(jax.numpy.asarray(count, dtype=jax.numpy.int64))


def keras_path(keras, opt, problem, steps=STEPS):
    v = keras.Variable(np.array(problem.start, dtype=np.float64), dtype="float64")
    path = [np.asarray(v.value)]
    for _ in range(steps):
        opt.apply_gradients([(problem.grad(np.asarray(v.value)), v)])
        path.append(np.asarray(v.value))
    return np.array(path)


def relative_gaps(theirs, reference) -> np.ndarray:
    """Per step: max |theirs − reference| / max |reference| (the max norm)."""
    theirs, reference = np.asarray(theirs, float), np.asarray(reference, float)
    assert theirs.shape == reference.shape
    axes = tuple(range(1, reference.ndim))
    scale = np.maximum(np.max(np.abs(reference), axis=axes), 1e-300)
    return np.max(np.abs(theirs - reference), axis=axes) / scale


def assert_same(theirs, reference, what: str, rtol: float = RTOL):
    gaps = relative_gaps(theirs, reference)
    if np.any(gaps > rtol):
        k = int(np.argmax(gaps > rtol))
        raise AssertionError(
            f"{what}: step {k} differs by {gaps[k]:.2e} relative (tolerance {rtol:g}): "
            f"{np.asarray(theirs)[k]} against {np.asarray(reference)[k]}"
        )


def assert_differ(theirs, reference, what: str, at_least: float = FAR):
    gap = relative_gaps(theirs, reference).max()
    assert gap > at_least, f"{what}: expected a real difference, the largest is {gap:.2e}"


class Fixed:
    """A gradient sequence that does not depend on x: the states then do not either."""

    def __init__(self, gradients):
        self.gradients = [np.atleast_1d(np.asarray(g, dtype=np.float64)) for g in gradients]
        self.k = 0
        self.start = tuple(0.0 for _ in self.gradients[0])

    def grad(self, x):
        g = self.gradients[self.k]
        self.k += 1
        return g


# --- Plain SGD and the step count a schedule sees ------------------------------------------


def test_sgd(torch, jax, optax, keras):
    reference = ours(on.SGD(lr=0.05), QUAD5)
    opt = lambda p: torch.optim.SGD(p, lr=0.05)  # noqa: E731
    assert_same(torch_path(torch, opt, QUAD5)[0], reference, "PyTorch SGD")
    assert_same(optax_path(jax, optax, optax.sgd(0.05), QUAD5)[0], reference, "optax sgd")
    keras_sgd = keras.optimizers.SGD(learning_rate=0.05)
    assert_same(keras_path(keras, keras_sgd, QUAD5), reference, "Keras SGD")


def test_first_update_sees_step_0(torch, jax, optax, keras):
    """optnotes, optax, Keras and a PyTorch scheduler stepped after every update all
    give the first update the schedule's value at 0; a schedule read one step late
    would be caught."""
    k = 0.05
    lr = sch.exponential_decay(0.1, k=k)
    reference = ours(on.SGD(lr=lr), QUAD5)
    late = ours(on.SGD(lr=lambda t: lr(t + 1)), QUAD5)

    path, rates, _ = torch_path(
        torch,
        lambda p: torch.optim.SGD(p, lr=0.1),
        QUAD5,
        scheduler=lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-k)),
    )
    np.testing.assert_allclose(rates, lr(np.arange(STEPS)), rtol=1e-12)
    assert_same(path, reference, "PyTorch SGD + ExponentialLR")
    assert_differ(path, late, "PyTorch against a schedule read one step late")

    decay = optax.exponential_decay(0.1, transition_steps=1, decay_rate=math.exp(-k))
    assert_same(
        optax_path(jax, optax, optax.sgd(counted_in_int64(jax, decay)), QUAD5)[0],
        reference,
        "optax sgd",
    )

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 1, math.exp(-k))
    keras_sgd = keras.optimizers.SGD(learning_rate=schedule)
    assert_same(keras_path(keras, keras_sgd, QUAD5), reference, "Keras SGD")


# --- Momentum and Nesterov ---------------------------------------------------------------------


def test_momentum_at_a_constant_rate(torch, jax, optax, keras):
    """The three forms of momentum.md give one path at a constant rate: (a) optnotes,
    (b) Keras v = −u, (c) PyTorch and optax b = u/α."""
    alpha, mu = 1e-3, 0.9
    reference = ours(on.Momentum(lr=alpha, mu=mu), ROSENBROCK)
    opt = lambda p: torch.optim.SGD(p, lr=alpha, momentum=mu)  # noqa: E731
    assert_same(torch_path(torch, opt, ROSENBROCK)[0], reference, "PyTorch SGD(momentum)")
    tx = optax.sgd(alpha, momentum=mu)
    assert_same(optax_path(jax, optax, tx, ROSENBROCK)[0], reference, "optax sgd(momentum)")
    keras_sgd = keras.optimizers.SGD(learning_rate=alpha, momentum=mu)
    assert_same(keras_path(keras, keras_sgd, ROSENBROCK), reference, "Keras SGD(momentum)")


def test_momentum_under_a_step_decay(torch, jax, optax, keras):
    """momentum.md: after a step decay Keras's form keeps optnotes's path, while PyTorch's
    (and optax's) buffer rescales every past gradient by today's rate. That is exactly
    optnotes's Momentum with μ replaced by μ α(t)/α(t−1)."""
    ravine, mu, steps = on.problems.ravine(20), 0.9, 60
    lr = sch.step_decay(0.1, factor=0.1, every=30)
    reference = ours(on.Momentum(lr=lr, mu=mu), ravine, steps)

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 30, 0.1, staircase=True)
    keras_sgd = keras.optimizers.SGD(learning_rate=schedule, momentum=mu)
    assert_same(keras_path(keras, keras_sgd, ravine, steps), reference, "Keras under StepLR")

    rescaled = on.Momentum(lr=lr, mu=lambda t: mu * lr(t) / lr(max(t - 1, 0)))
    predicted = ours(rescaled, ravine, steps)
    path, rates, _ = torch_path(
        torch,
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=mu),
        ravine,
        steps,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.1),
    )
    np.testing.assert_allclose(rates, lr(np.arange(steps)), rtol=1e-12)
    assert_same(path, predicted, "PyTorch SGD(momentum) + StepLR, buffer rescaled")
    assert_same(path[:31], reference[:31], "PyTorch before the decay")
    gap = np.linalg.norm(path - reference, axis=1)
    assert gap[60] > 0.1, f"the paths should part after the decay, gap {gap[60]:.3g}"

    decay = optax.exponential_decay(0.1, 30, 0.1, staircase=True)
    tx = optax.sgd(counted_in_int64(jax, decay), momentum=mu)
    assert_same(optax_path(jax, optax, tx, ravine, steps)[0], predicted, "optax under a decay")


def test_nesterov_frameworks_store_the_lookahead_point(torch, jax, optax, keras):
    """nesterov.md: PyTorch, optax and Keras store φ = x − μu of optnotes's classical
    sequence, and PyTorch's buffer is b = u/α; Keras's form keeps this under a schedule."""
    alpha, mu, steps = 1e-3, 0.9, 200
    path, states = ours_with_state(on.Nesterov(lr=alpha, mu=mu), ROSENBROCK, steps)
    lookahead = np.array([x - mu * s.u for x, s in zip(path, states, strict=True)])

    theirs, _, opt = torch_path(
        torch, lambda p: torch.optim.SGD(p, lr=alpha, momentum=mu, nesterov=True), ROSENBROCK, steps
    )
    assert_same(theirs, lookahead, "PyTorch SGD(nesterov=True) against x − μu")
    assert_differ(theirs, path, "PyTorch's parameters against optnotes's x")
    (buffer,) = [s["momentum_buffer"].numpy() for s in opt.state.values()]
    assert_same(buffer[None], (states[-1].u / alpha)[None], "PyTorch's buffer against u/α")

    tx = optax.sgd(alpha, momentum=mu, nesterov=True)
    assert_same(optax_path(jax, optax, tx, ROSENBROCK, steps)[0], lookahead, "optax nesterov")
    keras_sgd = keras.optimizers.SGD(learning_rate=alpha, momentum=mu, nesterov=True)
    assert_same(keras_path(keras, keras_sgd, ROSENBROCK, steps), lookahead, "Keras nesterov")

    lr = sch.exponential_decay(2e-3, k=0.02)
    path, states = ours_with_state(on.Nesterov(lr=lr, mu=mu), ROSENBROCK)
    lookahead = np.array([x - mu * s.u for x, s in zip(path, states, strict=True)])
    schedule = keras.optimizers.schedules.ExponentialDecay(2e-3, 1, math.exp(-0.02))
    keras_sgd = keras.optimizers.SGD(learning_rate=schedule, momentum=mu, nesterov=True)
    assert_same(keras_path(keras, keras_sgd, ROSENBROCK), lookahead, "Keras nesterov, schedule")


def test_nesterov_under_a_step_decay(torch, jax, optax):
    """conventions.md: under a schedule only Keras keeps φ = x − μu (above); PyTorch's
    and optax's buffer b = u/α follow it up to the decay, then part from it."""
    ravine, mu, steps = on.problems.ravine(20), 0.9, 60
    lr = sch.step_decay(0.1, factor=0.1, every=30)
    path, states = ours_with_state(on.Nesterov(lr=lr, mu=mu), ravine, steps)
    lookahead = np.array([x - mu * s.u for x, s in zip(path, states, strict=True)])
    theirs = torch_path(
        torch,
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=mu, nesterov=True),
        ravine,
        steps,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.1),
    )[0]
    decay = counted_in_int64(jax, optax.exponential_decay(0.1, 30, 0.1, staircase=True))
    tx = optax.sgd(decay, momentum=mu, nesterov=True)
    optax_nesterov = optax_path(jax, optax, tx, ravine, steps)[0]
    for name, path in (("PyTorch", theirs), ("optax", optax_nesterov)):
        assert_same(path[:31], lookahead[:31], f"{name} nesterov before the decay")
        assert_differ(path, lookahead, f"{name} nesterov after the decay", 0.1)


# --- Adagrad, RMSProp, Adadelta --------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-7, 1e-10])
def test_adagrad_as_pytorch(torch, eps):
    reference = ours(on.Adagrad(lr=0.1, eps=eps), ROSENBROCK)
    opt = lambda p: torch.optim.Adagrad(p, lr=0.1, eps=eps)  # noqa: E731
    assert_same(torch_path(torch, opt, ROSENBROCK)[0], reference, "PyTorch Adagrad")


def test_adagrad_lr_decay_is_inverse_time_decay(torch):
    """PyTorch's Adagrad(lr_decay=k) divides the rate by 1 + k(step − 1): optnotes's
    inverse_time_decay(lr, k) at t = step − 1."""
    reference = ours(on.Adagrad(lr=sch.inverse_time_decay(0.1, k=0.05)), ROSENBROCK)
    opt = lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.05, eps=1e-7)  # noqa: E731
    assert_same(torch_path(torch, opt, ROSENBROCK)[0], reference, "PyTorch Adagrad lr_decay")


def test_adagrad_as_keras_and_optax(jax, optax, keras):
    """Keras and optax start r at 0.1 and put ε inside the root: conventions.KerasAdagrad,
    a different path from optnotes's Adagrad (and PyTorch's)."""
    for problem in (ROSENBROCK, SMALL):
        reference = ours(conventions.KerasAdagrad(lr=0.1), problem)
        tx = optax.adagrad(0.1)
        assert_same(optax_path(jax, optax, tx, problem)[0], reference, "optax adagrad")
        keras_adagrad = keras.optimizers.Adagrad(learning_rate=0.1)
        assert_same(keras_path(keras, keras_adagrad, problem), reference, "Keras Adagrad")
    # With gradients of 1e-3 the start r = 0.1 dominates r for many steps.
    assert_differ(reference, ours(on.Adagrad(lr=0.1), SMALL), "Keras's Adagrad", 0.1)


def test_rmsprop(torch, jax, optax):
    reference = ours(on.RMSProp(lr=0.01, rho=0.9, eps=1e-8), QUAD5)
    opt = lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)  # noqa: E731
    assert_same(torch_path(torch, opt, QUAD5)[0], reference, "PyTorch RMSprop(alpha=0.9)")
    tx = optax.rmsprop(0.01, decay=0.9, eps=1e-8, eps_in_sqrt=False)
    assert_same(optax_path(jax, optax, tx, QUAD5)[0], reference, "optax rmsprop(eps out)")


def test_rmsprop_nesterov_as_optax(jax, optax):
    """optax's rmsprop with Nesterov momentum and ε outside the root is optnotes's
    RMSPropNesterov (Goodfellow et al. Alg. 8.6 with ε), storing φ = x − μu."""
    rule = on.RMSPropNesterov(lr=1e-3, rho=0.9, mu=0.9, eps=1e-8)
    path, states = ours_with_state(rule, ROSENBROCK)
    lookahead = np.array([x - 0.9 * s.u for x, s in zip(path, states, strict=True)])
    tx = optax.rmsprop(1e-3, decay=0.9, eps=1e-8, eps_in_sqrt=False, momentum=0.9, nesterov=True)
    assert_same(optax_path(jax, optax, tx, ROSENBROCK)[0], lookahead, "optax rmsprop nesterov")


def _first_step(kind, make, g, alpha, torch=None, jax=None, optax=None, keras=None):
    problem = Fixed([g])
    if kind == "torch":
        path = torch_path(torch, make, problem, steps=1)[0]
    elif kind == "optax":
        path = optax_path(jax, optax, make, problem, steps=1)[0]
    else:
        path = keras_path(keras, make, problem, steps=1)
    return float(path[1, 0] - path[0, 0])


def test_where_eps_goes(torch, jax, optax, keras):
    """rmsprop.md, adagrad.md, conventions.md: ε outside the root in PyTorch, inside in
    Keras and optax (by default), read off the first step of a gradient 1e-5 with
    ε = 1e-8, where the two placements differ by a factor of about 1.4."""
    g, eps, alpha, rho = 1e-5, 1e-8, 0.01, 0.9
    out_rms = -alpha * g / (math.sqrt((1 - rho) * g**2) + eps)
    in_rms = -alpha * g / math.sqrt((1 - rho) * g**2 + eps)
    out_ada = -alpha * g / (math.sqrt(g**2) + eps)
    in_ada_r0 = -alpha * g / math.sqrt(0.1 + g**2 + eps)
    assert abs(in_rms / out_rms - 1) > 0.1
    kw = dict(torch=torch, jax=jax, optax=optax, keras=keras)
    cases = {
        "PyTorch RMSprop": (
            "torch",
            lambda p: torch.optim.RMSprop(p, lr=alpha, alpha=rho, eps=eps),
            out_rms,
        ),
        "Keras RMSprop": (
            "keras",
            keras.optimizers.RMSprop(learning_rate=alpha, rho=rho, epsilon=eps),
            in_rms,
        ),
        "optax rmsprop": ("optax", optax.rmsprop(alpha, decay=rho, eps=eps), in_rms),
        "PyTorch Adagrad": ("torch", lambda p: torch.optim.Adagrad(p, lr=alpha, eps=eps), out_ada),
        "Keras Adagrad": (
            "keras",
            keras.optimizers.Adagrad(learning_rate=alpha, epsilon=eps),
            in_ada_r0,
        ),
        "optax adagrad": ("optax", optax.adagrad(alpha, eps=eps), in_ada_r0),
    }
    for name, (kind, make, expected) in cases.items():
        step = _first_step(kind, make, g, alpha, **kw)
        assert step == pytest.approx(expected, rel=1e-9), name


def test_adadelta(torch, jax, optax, keras):
    """PyTorch, optax and Keras all put ε inside both roots, as Zeiler and optnotes do."""
    rule = on.Adadelta(rho=0.95, eps=1e-6, lr=1.0)
    reference = ours(rule, ROSENBROCK)
    opt = lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-6)  # noqa: E731
    assert_same(torch_path(torch, opt, ROSENBROCK)[0], reference, "PyTorch Adadelta")
    tx = optax.adadelta(1.0, rho=0.95, eps=1e-6)
    assert_same(optax_path(jax, optax, tx, ROSENBROCK)[0], reference, "optax adadelta")
    keras_adadelta = keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-6)
    assert_same(keras_path(keras, keras_adadelta, ROSENBROCK), reference, "Keras Adadelta")

    lr = sch.exponential_decay(1.0, k=0.02)
    scheduled = ours(on.Adadelta(lr=lr), ROSENBROCK)
    path = torch_path(
        torch,
        lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-6),
        ROSENBROCK,
        scheduler=lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-0.02)),
    )[0]
    assert_same(path, scheduled, "PyTorch Adadelta + ExponentialLR")


def test_adadelta_lr_multiplies_the_step_only(torch, jax, optax, keras):
    """adadelta.md: a learning rate (Keras's default 0.001) scales the step; the average
    of squared steps s evolves as in the paper, in PyTorch and Keras alike."""
    rng = np.random.default_rng(1)
    gradients = rng.normal(size=(STEPS, 3))
    rule = on.Adadelta(rho=0.95, eps=1e-7, lr=1.0)
    path, states = ours_with_state(rule, Fixed(gradients))
    steps = np.diff(path, axis=0)

    torch_steps, _, opt = torch_path(
        torch, lambda p: torch.optim.Adadelta(p, lr=1e-3, rho=0.95, eps=1e-7), Fixed(gradients)
    )
    (state,) = opt.state.values()
    assert_same(state["acc_delta"].numpy()[None], states[-1].s[None], "PyTorch's s at lr 1e-3")
    assert_same(np.diff(torch_steps, axis=0), 1e-3 * steps, "PyTorch's steps at lr 1e-3")

    keras_adadelta = keras.optimizers.Adadelta(learning_rate=1e-3, rho=0.95, epsilon=1e-7)
    keras_steps = keras_path(keras, keras_adadelta, Fixed(gradients))
    (s,) = keras_adadelta._accumulated_delta_vars
    assert_same(np.asarray(s.value)[None], states[-1].s[None], "Keras's s at lr 1e-3")
    assert_same(np.diff(keras_steps, axis=0), 1e-3 * steps, "Keras's steps at lr 1e-3")

    tx = optax.adadelta(1e-3, rho=0.95, eps=1e-7)
    optax_steps, state = optax_path(jax, optax, tx, Fixed(gradients))
    (adadelta_state,) = [part for part in state if hasattr(part, "e_x")]
    assert_same(np.asarray(adadelta_state.e_x)[None], states[-1].s[None], "optax's s")
    assert_same(np.diff(optax_steps, axis=0), 1e-3 * steps, "optax's steps at lr 1e-3")


def test_keras_adadelta_docstring_advises_1(keras):
    """adadelta.md quotes Keras's docstring."""
    text = " ".join(keras.optimizers.Adadelta.__doc__.split())
    assert "To match the exact form in the original paper, use 1.0." in text


def test_optax_adadelta_default_climbs(jax, optax):
    """optax.adadelta() has learning_rate=None: no sign flip, so it climbs."""
    path, _ = optax_path(jax, optax, optax.adadelta(), QUAD5, steps=5)
    values = QUAD5.value(path.T)
    assert np.all(np.diff(values) > 0), values


# --- Adam and its successors -------------------------------------------------------------------


def test_adam(torch, jax, optax):
    reference = ours(on.Adam(lr=0.05), QUAD5)
    opt = lambda p: torch.optim.Adam(p, lr=0.05)  # noqa: E731
    assert_same(torch_path(torch, opt, QUAD5)[0], reference, "PyTorch Adam")
    assert_same(optax_path(jax, optax, optax.adam(0.05), QUAD5)[0], reference, "optax adam")


def test_adam_with_cosine_decay(torch, jax, optax):
    lr = sch.cosine_decay(0.05, total=STEPS, final=0.005)
    reference = ours(on.Adam(lr=lr), QUAD5)
    path, rates, _ = torch_path(
        torch,
        lambda p: torch.optim.Adam(p, lr=0.05),
        QUAD5,
        scheduler=lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
            o, T_max=STEPS, eta_min=0.005
        ),
    )
    np.testing.assert_allclose(rates, lr(np.arange(STEPS)), rtol=1e-12)
    assert_same(path, reference, "PyTorch Adam + CosineAnnealingLR")
    tx = optax.adam(counted_in_int64(jax, optax.cosine_decay_schedule(0.05, STEPS, alpha=0.1)))
    assert_same(optax_path(jax, optax, tx, QUAD5)[0], reference, "optax adam + cosine")


def _torch_eps_hat(eps_hat, beta2=0.999):
    """PyTorch's ε set before each step to ε̂/√(1 − β₂^step): Keras's ε̂ converted."""

    def before_step(opt, k):
        opt.param_groups[0]["eps"] = eps_hat / math.sqrt(1 - beta2 ** (k + 1))

    return before_step


def test_keras_adam_epsilon_hat(torch, keras):
    """adam.md, conventions.md: Keras adds ε̂ to √v before the bias correction; it is
    PyTorch's Adam with ε = ε̂/√(1 − β₂ᵗ) step for step (31.6 ε̂ at t = 1), and not the
    same rule as the same ε in PyTorch's place."""
    eps_hat = 1e-4
    keras_adam = keras.optimizers.Adam(learning_rate=0.05, epsilon=eps_hat)
    theirs = keras_path(keras, keras_adam, SMALL)
    converted = torch_path(
        torch, lambda p: torch.optim.Adam(p, lr=0.05), SMALL, before_step=_torch_eps_hat(eps_hat)
    )[0]
    assert_same(converted, theirs, "PyTorch with ε = ε̂/√(1−β₂ᵗ) against Keras")
    assert_same(ours(conventions.KerasAdam(lr=0.05, eps=eps_hat), SMALL), theirs, "KerasAdam")
    assert_differ(ours(on.Adam(lr=0.05, eps=eps_hat), SMALL), theirs, "Adam with ε = ε̂", 1e-3)
    assert 1 / math.sqrt(1 - 0.999) == pytest.approx(31.62, abs=0.01)
    assert 1 / math.sqrt(1 - 0.999**10) == pytest.approx(10.0, abs=0.03)


def test_adamax(torch, jax, optax, keras):
    """Kingma & Ba's AdaMax has no ε; with ε = 0 PyTorch, optax and Keras give its path
    (PyTorch and optax add ε to |g| inside the max, Keras to u outside it)."""
    reference = ours(on.AdaMax(lr=0.05), QUAD5)
    opt = lambda p: torch.optim.Adamax(p, lr=0.05, eps=0.0)  # noqa: E731
    assert_same(torch_path(torch, opt, QUAD5)[0], reference, "PyTorch Adamax(eps=0)")
    tx = optax.adamax(0.05, eps=0.0)
    assert_same(optax_path(jax, optax, tx, QUAD5)[0], reference, "optax adamax(eps=0)")
    keras_adamax = keras.optimizers.Adamax(learning_rate=0.05, epsilon=0.0)
    assert_same(keras_path(keras, keras_adamax, QUAD5), reference, "Keras Adamax(epsilon=0)")


def test_adamax_where_eps_goes(torch, jax, optax, keras):
    """conventions.md: PyTorch and optax add ε to |g| inside the maximum, Keras adds it
    to u outside. A gradient 1, then zeros, with ε = 0.1 and β₂ = 0.5 tells them apart."""
    alpha, b1, b2, eps = 0.01, 0.9, 0.5, 0.1
    gradients = [1.0] + [0.0] * 9

    def predicted(inside: bool):
        m = u = 0.0
        steps = []
        for t, g in enumerate(gradients, start=1):
            m = b1 * m + (1 - b1) * g
            u = max(b2 * u, abs(g) + eps) if inside else max(b2 * u, abs(g))
            steps.append(-alpha / (1 - b1**t) * m / (u if inside else u + eps))
        return np.array(steps)[:, None]

    inside, outside = predicted(True), predicted(False)
    assert_differ(inside, outside, "ε inside or outside the maximum", 0.05)
    path = torch_path(
        torch,
        lambda p: torch.optim.Adamax(p, lr=alpha, betas=(b1, b2), eps=eps),
        Fixed(gradients),
        10,
    )[0]
    assert_same(np.diff(path, axis=0), inside, "PyTorch Adamax")
    tx = optax.adamax(alpha, b1=b1, b2=b2, eps=eps)
    path = optax_path(jax, optax, tx, Fixed(gradients), 10)[0]
    assert_same(np.diff(path, axis=0), inside, "optax adamax")
    keras_adamax = keras.optimizers.Adamax(learning_rate=alpha, beta_1=b1, beta_2=b2, epsilon=eps)
    path = keras_path(keras, keras_adamax, Fixed(gradients), 10)
    assert_same(np.diff(path, axis=0), outside, "Keras Adamax")


def test_nadam_as_optax_and_pytorch_without_warm_up(torch, jax, optax):
    """optax's nadam has a constant μ = β₁ and gives optnotes's Nadam. PyTorch's NAdam
    is the same once its warm-up is switched off (momentum_decay so large that
    0.96^(t ψ) = 0, so μ_t = β₁); with its default ψ = 0.004 it differs."""
    reference = ours(on.Nadam(lr=0.02), ROSENBROCK)
    tx = optax.nadam(0.02)
    assert_same(optax_path(jax, optax, tx, ROSENBROCK)[0], reference, "optax nadam")
    opt = lambda p: torch.optim.NAdam(p, lr=0.02, momentum_decay=1e9)  # noqa: E731
    assert 0.96**1e9 == 0.0
    assert_same(torch_path(torch, opt, ROSENBROCK)[0], reference, "PyTorch NAdam, no warm-up")
    warm = lambda p: torch.optim.NAdam(p, lr=0.02)  # noqa: E731
    assert_differ(torch_path(torch, warm, ROSENBROCK)[0], reference, "PyTorch NAdam", 1e-3)


def torch_nadam_mu(torch, t: int) -> float:
    """μ_t as PyTorch's NAdam computes it: one step at step count t, read off the
    product of the μ's it keeps."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.NAdam([p])
    p.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    state = opt.state[p]
    state["step"].fill_(t - 1)
    state["mu_product"].fill_(1.0)
    opt.step()
    return float(state["mu_product"])


def test_nadam_momentum_warm_up(torch, keras):
    """adam-successors.md, conventions.md: PyTorch's μ_t = β₁(1 − ½·0.96^(tψ)), ψ = 0.004,
    is about 0.45 at t = 1, 0.52 at 10³ and 0.81 at 10⁴ (tens of thousands of steps to
    reach β₁); Keras's μ_t = β₁(1 − ½·0.96^t) is within 1% of β₁ by t = 100."""
    beta1 = 0.9
    for t, quoted in ((1, 0.45), (1000, 0.52), (10_000, 0.81)):
        mu = torch_nadam_mu(torch, t)
        assert mu == pytest.approx(beta1 * (1 - 0.5 * 0.96 ** (t * 0.004)), rel=1e-12)
        assert round(mu, 2) == quoted, (t, mu)
    assert torch_nadam_mu(torch, 20_000) < 0.99 * beta1 < torch_nadam_mu(torch, 30_000)

    keras_nadam = keras.optimizers.Nadam()
    v = keras.Variable(np.zeros(1), dtype="float64")
    products = []
    for _ in range(120):
        keras_nadam.apply_gradients([(np.ones(1), v)])
        products.append(float(keras_nadam._u_product.value))
    mu = np.array(products) / np.concatenate([[1.0], products[:-1]])
    t = np.arange(1, 121)
    np.testing.assert_allclose(mu, beta1 * (1 - 0.5 * 0.96**t), rtol=1e-12)
    assert mu[99] > 0.99 * beta1 > mu[50]


def nadam_with_warm_up(mu, gradients, lr=0.02, b1=0.9, b2=0.999, eps=1e-8):
    """adam-successors.md's description of PyTorch's NAdam and Keras's Nadam, written
    out: μ_t (t from 1) replaces β₁ in the look-ahead, and the product of the μ_i
    replaces β₁ᵗ in the bias correction of m; v as Adam's, no factor β₂ on v̂."""
    m = v = np.zeros_like(gradients[0])
    product, steps = 1.0, []
    for t, g in enumerate(gradients, start=1):
        product *= mu(t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_bar = mu(t + 1) * m / (1 - product * mu(t + 1)) + (1 - mu(t)) * g / (1 - product)
        steps.append(-lr * m_bar / (np.sqrt(v / (1 - b2**t)) + eps))
    return np.array(steps)


def test_nadam_warm_up_form(torch, keras):
    rng = np.random.default_rng(3)
    gradients = rng.normal(size=(STEPS, 3))

    def mu_torch(t):
        return 0.9 * (1 - 0.5 * 0.96 ** (t * 0.004))

    def mu_keras(t):
        return 0.9 * (1 - 0.5 * 0.96**t)

    path = torch_path(torch, lambda p: torch.optim.NAdam(p, lr=0.02), Fixed(gradients))[0]
    assert_same(np.diff(path, axis=0), nadam_with_warm_up(mu_torch, gradients), "PyTorch")
    keras_nadam = keras.optimizers.Nadam(learning_rate=0.02, epsilon=1e-8)
    path = keras_path(keras, keras_nadam, Fixed(gradients))
    assert_same(np.diff(path, axis=0), nadam_with_warm_up(mu_keras, gradients), "Keras")


def test_amsgrad_as_pytorch_and_keras(torch, keras):
    reference = ours(on.AMSGrad(lr=0.05), QUAD5)
    opt = lambda p: torch.optim.Adam(p, lr=0.05, amsgrad=True)  # noqa: E731
    assert_same(torch_path(torch, opt, QUAD5)[0], reference, "PyTorch Adam(amsgrad=True)")
    eps_hat = 1e-4
    keras_adam = keras.optimizers.Adam(learning_rate=0.05, epsilon=eps_hat, amsgrad=True)
    theirs = keras_path(keras, keras_adam, SMALL)
    converted = torch_path(
        torch,
        lambda p: torch.optim.Adam(p, lr=0.05, amsgrad=True),
        SMALL,
        before_step=_torch_eps_hat(eps_hat),
    )[0]
    assert_same(converted, theirs, "Keras Adam(amsgrad=True), ε converted")


def test_amsgrad_maximum_raw_or_corrected(torch, jax, optax):
    """adam-successors.md: PyTorch (and optnotes) take the maximum of the raw v and
    bias-correct it afterwards, so the corrected denominator falls after a spike;
    optax takes the maximum of the corrected v̂, which never falls. One spike of 10,
    then gradients of 0.01, for 3000 steps."""
    steps = 3000
    gradients = [10.0] + [0.01] * (steps - 1)
    _, _, opt = torch_path(
        torch, lambda p: torch.optim.Adam(p, amsgrad=True), Fixed(gradients), steps
    )
    (state,) = opt.state.values()
    raw_max, t = float(state["max_exp_avg_sq"][0]), int(state["step"])
    assert raw_max == pytest.approx((1 - 0.999) * 100.0, rel=1e-12) and t == steps
    first, last = math.sqrt(raw_max / (1 - 0.999)), math.sqrt(raw_max / (1 - 0.999**t))
    assert first / last == pytest.approx(30.8, abs=0.05)  # √((1 − β₂ᵗ)/(1 − β₂))

    _, states = ours_with_state(on.AMSGrad(), Fixed(gradients), steps)
    assert states[-1].v_max[0] == pytest.approx(raw_max, rel=1e-12)

    tx = jax.jit(optax.amsgrad(1e-3).update)
    params = jax.numpy.zeros(1)
    state = optax.amsgrad(1e-3).init(params)
    nu_max = []
    for g in gradients:
        _, state = tx(jax.numpy.array([g]), state, params)
        nu_max.append(float(state[0].nu_max[0]))
    assert nu_max[0] == pytest.approx(100.0, rel=1e-12)
    assert np.all(np.diff(nu_max) >= 0) and nu_max[-1] == nu_max[0]


@pytest.mark.parametrize("C", [3.0, 10.0])
def test_amsgrad_counterexample_with_every_form(jax, optax, C):
    """adam-successors.md: on Reddi et al.'s counterexample AMSGrad converges to −1 in
    PyTorch's form (optnotes), optax's and the paper's (no bias correction)."""
    problem = on.problems.AdamCounterexample(C)
    lr = sch.inverse_sqrt_decay(problem.alpha)
    hyper = dict(lr=lr, beta1=0.0, beta2=problem.beta2, eps=1e-12)
    ends = {"optnotes": problem.run(on.AMSGrad(**hyper), 3000)[-300:].mean()}

    def schedule(count):
        return problem.alpha / jax.numpy.sqrt(1.0 + count)

    for name, corrected in (("optax", True), ("paper", False)):
        tx = optax.amsgrad(
            schedule, b1=0.0, b2=problem.beta2, eps=1e-12, bias_correction_nu=corrected
        )
        update = jax.jit(tx.update)
        x = jax.numpy.zeros(1)
        state, xs = tx.init(x), []
        for t in range(1, 3001):
            updates, state = update(jax.numpy.array([problem.gradient(t)]), state, x)
            x = jax.numpy.clip(x + updates, -1.0, 1.0)
            xs.append(float(x[0]))
        ends[name] = np.mean(xs[-300:])
    for name, end in ends.items():
        assert end < -0.9, (name, end)


def test_adamw(torch, jax, optax, keras):
    """PyTorch, optax and Keras all decay by α λ x, the learning rate times λ (the paper
    scales λ by the schedule multiplier only); Keras's with its ε̂."""
    reference = ours(on.AdamW(lr=0.05, weight_decay=0.1), QUAD5)
    opt = lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1)  # noqa: E731
    assert_same(torch_path(torch, opt, QUAD5)[0], reference, "PyTorch AdamW")
    tx = optax.adamw(0.05, weight_decay=0.1)
    assert_same(optax_path(jax, optax, tx, QUAD5)[0], reference, "optax adamw")

    lr = sch.step_decay(0.05, factor=0.2, every=20)
    scheduled = ours(on.AdamW(lr=lr, weight_decay=0.1), QUAD5)
    path = torch_path(
        torch,
        opt,
        QUAD5,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=20, gamma=0.2),
    )[0]
    assert_same(path, scheduled, "PyTorch AdamW + StepLR")
    decay = counted_in_int64(jax, optax.exponential_decay(0.05, 20, 0.2, staircase=True))
    tx = optax.adamw(decay, weight_decay=0.1)
    assert_same(optax_path(jax, optax, tx, QUAD5)[0], scheduled, "optax adamw + schedule")

    eps_hat = 1e-4
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 20, 0.2, staircase=True)
    keras_adamw = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=0.1, epsilon=eps_hat)
    theirs = keras_path(keras, keras_adamw, SMALL)
    converted = torch_path(
        torch,
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1),
        SMALL,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=20, gamma=0.2),
        before_step=_torch_eps_hat(eps_hat),
    )[0]
    assert_same(converted, theirs, "Keras AdamW against PyTorch's with ε converted")


def test_yogi_against_optax(jax, optax):
    """optax's yogi differs from the paper's Algorithm 2 (and optnotes) in two ways:
    it bias-corrects m and v as Adam does, and it starts m and v at 1e-6. With the
    start set to 0 the moments are the same; the step then differs by exactly the
    bias correction."""
    default = optax.yogi(0.01).init(jax.numpy.zeros(2))[0]
    assert np.all(np.asarray(default.mu) == 1e-6) and np.all(np.asarray(default.nu) == 1e-6)

    rng = np.random.default_rng(2)
    gradients = rng.normal(size=(STEPS, 3)) * np.array([1.0, 0.1, 10.0])
    alpha, eps, b1, b2 = 0.01, 1e-3, 0.9, 0.999
    path, states = ours_with_state(on.Yogi(lr=alpha, eps=eps), Fixed(gradients))
    tx = optax.chain(
        optax.scale_by_yogi(b1=b1, b2=b2, eps=eps, initial_accumulator_value=0.0),
        optax.scale_by_learning_rate(alpha),
    )
    theirs, _ = optax_path(jax, optax, tx, Fixed(gradients))
    predicted = []
    for s in states[1:]:
        m_hat, v_hat = s.m / (1 - b1**s.t), s.v / (1 - b2**s.t)
        predicted.append(-alpha * m_hat / (np.sqrt(v_hat) + eps))
    assert_same(np.diff(theirs, axis=0), np.array(predicted), "optax yogi, bias-corrected")
    assert_differ(np.diff(theirs, axis=0), np.diff(path, axis=0), "optax yogi", 1e-2)


def test_what_the_frameworks_lack(torch, optax, keras):
    """conventions.md: no Yogi in PyTorch or Keras; no Nesterov form of RMSprop in
    PyTorch or Keras (their momentum is heavy-ball), one in optax."""
    assert not hasattr(torch.optim, "Yogi") and not hasattr(keras.optimizers, "Yogi")
    assert hasattr(optax, "yogi")
    for rmsprop in (torch.optim.RMSprop, keras.optimizers.RMSprop):
        parameters = inspect.signature(rmsprop).parameters
        assert "momentum" in parameters and "nesterov" not in parameters
    assert "nesterov" in inspect.signature(optax.rmsprop).parameters


# --- Gradient clipping ---------------------------------------------------------------------------

CLIFF = on.problems.Cliff()


def test_clipping_by_norm(torch, jax, optax, keras):
    """ClipByNorm(rule, c, eps=1e-6) is PyTorch's clip_grad_norm_ before the step;
    eps = 0 is optax's clip_by_global_norm and Keras's global_clipnorm. On the
    cliff, where the gradient reaches 10 and clipping at 1 changes every step
    there; the two eps differ by more than the tolerance."""
    from optnotes.clipping import ClipByNorm

    def clip(opt, k):
        torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], 1.0)

    for rule, make in [
        (on.SGD(lr=1.0), lambda p: torch.optim.SGD(p, lr=1.0)),
        (on.Adam(lr=0.3), lambda p: torch.optim.Adam(p, lr=0.3, eps=1e-8)),
    ]:
        theirs = torch_path(torch, make, CLIFF, before_step=clip)[0]
        path = ours(ClipByNorm(rule, max_norm=1.0, eps=1e-6), CLIFF)
        assert_same(theirs, path, f"PyTorch {type(rule).__name__} + clip_grad_norm_")
    sgd = ours(ClipByNorm(on.SGD(lr=1.0), max_norm=1.0), CLIFF)
    assert_differ(sgd, ours(ClipByNorm(on.SGD(lr=1.0), 1.0, eps=1e-6), CLIFF), "eps", 1e-9)
    assert_differ(sgd, ours(on.SGD(lr=1.0), CLIFF), "clipped against not", 1.0)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(1.0))
    assert_same(optax_path(jax, optax, tx, CLIFF)[0], sgd, "optax clip_by_global_norm + sgd")
    keras_sgd = keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0)
    assert_same(keras_path(keras, keras_sgd, CLIFF), sgd, "Keras SGD(global_clipnorm)")


def test_keras_clipnorm_clips_each_variable_by_its_own_norm(keras):
    """clipping.md: Keras's clipnorm clips each variable's gradient by that
    variable's norm (and so can turn the step); global_clipnorm, one norm over
    all, keeps the direction, as ClipByNorm."""
    from optnotes.clipping import ClipByNorm

    g = [np.array([3.0, 4.0]), np.array([0.3, 0.4])]  # norms 5 and 0.5
    moved = {}
    for name, kwargs in {"clipnorm": {"clipnorm": 1.0}, "global": {"global_clipnorm": 1.0}}.items():
        opt = keras.optimizers.SGD(learning_rate=1.0, **kwargs)
        v = [keras.Variable(np.zeros(2), dtype="float64") for _ in g]
        opt.apply_gradients(list(zip(g, v, strict=True)))
        moved[name] = -np.concatenate([np.asarray(x.value) for x in v])
    per_variable = np.concatenate([gi * min(1.0, 1.0 / np.linalg.norm(gi)) for gi in g])
    assert_same(moved["clipnorm"][None], per_variable[None], "Keras clipnorm, per variable")
    rule = ClipByNorm(on.SGD(lr=1.0), max_norm=1.0)
    flat = np.concatenate(g)
    ours_step = -rule.step(np.zeros(4), lambda x: flat, rule.init(np.zeros(4)))[0]
    assert_same(moved["global"][None], ours_step[None], "Keras global_clipnorm")
    assert_differ(moved["clipnorm"][None], ours_step[None], "per variable against global", 0.1)


def test_clipping_by_value(torch, jax, optax):
    """ClipByValue(rule, c) is PyTorch's clip_grad_value_ and optax's clip."""
    from optnotes.clipping import ClipByNorm, ClipByValue

    def clip(opt, k):
        torch.nn.utils.clip_grad_value_(opt.param_groups[0]["params"], 0.5)

    theirs = torch_path(torch, lambda p: torch.optim.SGD(p, lr=1.0), CLIFF, before_step=clip)[0]
    path = ours(ClipByValue(on.SGD(lr=1.0), max_value=0.5), CLIFF)
    assert_same(theirs, path, "PyTorch SGD + clip_grad_value_")
    tx = optax.chain(optax.clip(0.5), optax.sgd(1.0))
    assert_same(optax_path(jax, optax, tx, CLIFF)[0], path, "optax clip + sgd")
    by_norm = ours(ClipByNorm(on.SGD(lr=1.0), max_norm=0.5), CLIFF)
    assert_differ(path, by_norm, "by value against by norm", 1e-3)


# --- L-BFGS --------------------------------------------------------------------------------------


def _torch_lbfgs(torch, problem, lr, memory, steps, line_search=None):
    """torch.optim.LBFGS, one update per step() (max_iter=1); with a line search,
    at most 26 evaluations per step (max_eval), so 25 in the search."""
    p = torch.nn.Parameter(torch.tensor(problem.start, dtype=torch.float64))
    opt = torch.optim.LBFGS(
        [p], lr=lr, max_iter=1, max_eval=26, history_size=memory, line_search_fn=line_search
    )

    def closure():
        opt.zero_grad()
        x = p.detach().numpy().copy()
        p.grad = torch.from_numpy(np.asarray(problem.grad(x), dtype=np.float64))
        return torch.tensor(float(problem.value(x)), dtype=torch.float64)

    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        opt.step(closure)
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize(
    "problem, lr, memory, steps",
    [
        (on.problems.ravine(100), 1.0, 10, 6),  # at 7, g·d > -1e-9: PyTorch stops
        (QUAD5, 1.0, 2, 12),  # the memory fills and the oldest pair goes
        (ROSENBROCK, 0.05, 5, STEPS),
    ],
)
def test_lbfgs_as_pytorch(torch, problem, lr, memory, steps):
    """LBFGS(lr, memory) is torch.optim.LBFGS(lr, history_size=memory,
    max_iter=1, line_search_fn=None), step for step, while PyTorch takes every
    step (it skips them once max |g| <= 1e-7 or the direction is flat)."""
    from optnotes.quasi_newton import LBFGS

    theirs = _torch_lbfgs(torch, problem, lr, memory, steps)
    path = ours(LBFGS(lr=lr, memory=memory), problem, steps)
    assert np.abs(problem.grad(path[-2])).max() > 1e-7  # PyTorch still stepping
    assert_same(theirs, path, f"PyTorch LBFGS on {problem}")
    plain = ours(
        on.SGD(lr=lr * min(1.0, 1 / np.abs(problem.grad(problem.start)).sum())), problem, steps
    )
    assert_differ(path, plain, "L-BFGS against gradient descent")


@pytest.mark.parametrize(
    "problem, memory, steps",
    [
        (ROSENBROCK, 10, 40),  # many searches extrapolate, zoom and interpolate
        (on.problems.Beale(), 5, 30),
        (on.problems.ravine(100), 10, 6),  # at 7, g·d > -1e-9: both stop
    ],
)
def test_lbfgs_strong_wolfe_as_pytorch(torch, problem, memory, steps):
    """LBFGS(line_search="strong_wolfe") is torch.optim.LBFGS(line_search_fn=
    "strong_wolfe", max_iter=1, max_eval=26), step for step."""
    from optnotes.quasi_newton import LBFGS

    theirs = _torch_lbfgs(torch, problem, 1.0, memory, steps, "strong_wolfe")
    path = on.run(LBFGS(memory=memory, line_search="strong_wolfe"), problem, problem.start, steps)
    assert_same(theirs, path, f"PyTorch LBFGS with its strong Wolfe search on {problem}")
    fixed = ours(LBFGS(memory=memory), problem, steps)
    assert_differ(path, fixed, "the line search against the fixed step")


# --- Iterate averaging ---------------------------------------------------------------------------


def _torch_averages(torch, lr, problem, start=0, **kwargs):
    """SGD's iterates averaged by PyTorch's AveragedModel, updated after each step
    from step ``start`` + 1 on (the averages from then on)."""
    from torch.optim.swa_utils import AveragedModel

    averages, steps = [], [0]

    class Averager:  # stepped after each optimizer.step(), as a scheduler is
        def __init__(self, opt):
            self.module = torch.nn.Module()
            self.module.p = opt.param_groups[0]["params"][0]
            self.averaged = AveragedModel(self.module, **kwargs)

        def step(self):
            steps[0] += 1
            if steps[0] > start:
                self.averaged.update_parameters(self.module)
                averages.append(self.averaged.module.p.detach().numpy().copy())

    torch_path(torch, lambda p: torch.optim.SGD(p, lr=lr), problem, scheduler=Averager)
    return np.array(averages)


def _our_averages(rule, problem):
    return np.array([s.average for s in ours_with_state(rule, problem)[1][1:]])


def test_iterate_averages(torch, keras):
    """PolyakAverage is PyTorch's AveragedModel (its default, equal weights) and
    EMAWeights(β) its get_ema_multi_avg_fn(β), each updated after every step;
    EMAWeights is also Keras's use_ema=True, ema_momentum=β."""
    from torch.optim.swa_utils import get_ema_multi_avg_fn

    polyak = _our_averages(on.PolyakAverage(on.SGD(lr=0.1)), QUAD5)
    assert_same(_torch_averages(torch, 0.1, QUAD5), polyak, "PyTorch AveragedModel")
    tail = _our_averages(on.PolyakAverage(on.SGD(lr=0.1), start=20), QUAD5)
    theirs = _torch_averages(torch, 0.1, QUAD5, start=20)
    assert_same(theirs, tail[20:], "PyTorch AveragedModel from step 21 (swa_start)")
    assert_differ(tail[20:], polyak[20:], "tail against full average")
    ema = _our_averages(on.EMAWeights(on.SGD(lr=0.1), decay=0.9), QUAD5)
    theirs = _torch_averages(torch, 0.1, QUAD5, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    assert_same(theirs, ema, "PyTorch AveragedModel, EMA")
    assert_differ(polyak, ema, "Polyak against EMA")

    keras_sgd = keras.optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    v = keras.Variable(np.array(QUAD5.start, dtype=np.float64), dtype="float64")
    kept = []
    for _ in range(STEPS):
        keras_sgd.apply_gradients([(QUAD5.grad(np.asarray(v.value)), v)])
        kept.append(np.asarray(keras_sgd._model_variables_moving_average[0].value))
    assert_same(np.array(kept), ema, "Keras use_ema")


# --- Schedules, value for value ------------------------------------------------------------------


def _torch_rates(torch, scheduler, lr, steps):
    problem = on.problems.Quadratic(np.eye(1), start=(0.0,))
    make = lambda p: torch.optim.SGD(p, lr=lr)  # noqa: E731
    return torch_path(torch, make, problem, steps, scheduler=scheduler)[1]


T = np.arange(80)


def test_step_decay(torch, jax, optax, keras):
    lr = sch.step_decay(0.1, factor=0.5, every=7)
    expected = lr(T)
    steplr = lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)  # noqa: E731
    np.testing.assert_allclose(_torch_rates(torch, steplr, 0.1, len(T)), expected, rtol=1e-12)
    optax_lr = optax.exponential_decay(0.1, 7, 0.5, staircase=True)
    np.testing.assert_allclose([float(optax_lr(t)) for t in T], expected, rtol=1e-12)
    keras_lr = keras.optimizers.schedules.ExponentialDecay(0.1, 7, 0.5, staircase=True)
    np.testing.assert_allclose([float(keras_lr(int(t))) for t in T], expected, rtol=1e-12)


def test_exponential_and_inverse_time_decay(torch, jax, optax, keras):
    k = 0.03
    expected = sch.exponential_decay(0.1, k=k)(T)
    exponential = lambda o: torch.optim.lr_scheduler.ExponentialLR(o, math.exp(-k))  # noqa: E731
    np.testing.assert_allclose(_torch_rates(torch, exponential, 0.1, len(T)), expected, rtol=1e-12)
    optax_lr = optax.exponential_decay(0.1, 1, math.exp(-k))
    np.testing.assert_allclose([float(optax_lr(t)) for t in T], expected, rtol=1e-12)
    keras_lr = keras.optimizers.schedules.ExponentialDecay(0.1, 1, math.exp(-k))
    np.testing.assert_allclose([float(keras_lr(int(t))) for t in T], expected, rtol=1e-12)

    expected = sch.inverse_time_decay(0.1, k=0.2)(T)
    keras_lr = keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.2)
    np.testing.assert_allclose([float(keras_lr(int(t))) for t in T], expected, rtol=1e-12)


def test_cosine_decay(torch, jax, optax, keras):
    """Same values up to the end; after it optnotes, optax and Keras stay at the floor,
    while PyTorch's CosineAnnealingLR climbs back (it is periodic)."""
    total, final = 40, 0.01
    expected = sch.cosine_decay(0.1, total=total, final=final)(T)
    cosine = lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, total, final)  # noqa: E731
    rates = _torch_rates(torch, cosine, 0.1, len(T))
    np.testing.assert_allclose(rates[: total + 1], expected[: total + 1], rtol=1e-12)
    assert rates[60] > 0.05 and expected[60] == final
    optax_lr = optax.cosine_decay_schedule(0.1, total, alpha=final / 0.1)
    np.testing.assert_allclose([float(optax_lr(t)) for t in T], expected, rtol=1e-12)
    # Keras's CosineDecay computes in the dtype of its initial rate (float32 for a
    # Python float, whatever floatx is), and even in float64 its ops.cos returns
    # float32 (Keras 3.15 promotes float64 with a Python float to float32): the
    # values agree to float32's precision only.
    keras_lr = keras.optimizers.schedules.CosineDecay(np.float64(0.1), total, alpha=final / 0.1)
    np.testing.assert_allclose([float(keras_lr(int(t))) for t in T], expected, rtol=1e-6)


def test_linear_warmup(torch, jax, optax, keras):
    """linear_warmup(α, T) is α(t+1)/T: PyTorch's LinearLR(1/T, 1, total_iters=T−1) and
    optax's linear_schedule(α/T, α, T−1). Into a cosine, the target starts its own
    count at t = T, as optax's join_schedules does. Keras's warm-up (in CosineDecay)
    starts from its initial rate at step 0: with 0 there, it is optnotes's one step
    late, and the first update does not move."""
    warm = 10
    expected = sch.linear_warmup(0.1, steps=warm)(T)
    linear = lambda o: torch.optim.lr_scheduler.LinearLR(  # noqa: E731
        o, start_factor=1 / warm, end_factor=1.0, total_iters=warm - 1
    )
    np.testing.assert_allclose(_torch_rates(torch, linear, 0.1, len(T)), expected, rtol=1e-12)
    optax_lr = optax.linear_schedule(0.1 / warm, 0.1, warm - 1)
    np.testing.assert_allclose([float(optax_lr(t)) for t in T], expected, rtol=1e-12)

    into_cosine = sch.linear_warmup(sch.cosine_decay(0.1, total=30), steps=warm)(T)
    joined = optax.join_schedules(
        [optax.linear_schedule(0.1 / warm, 0.1, warm - 1), optax.cosine_decay_schedule(0.1, 30)],
        [warm],
    )
    np.testing.assert_allclose([float(joined(t)) for t in T], into_cosine, rtol=1e-12, atol=1e-15)

    keras_lr = keras.optimizers.schedules.CosineDecay(
        np.float64(0.0), 30, warmup_target=0.1, warmup_steps=warm
    )
    keras_values = np.array([float(keras_lr(t)) for t in range(warm + 1)])  # slow: a cond
    assert keras_values[0] == 0.0
    np.testing.assert_allclose(keras_values[1 : warm + 1], expected[:warm], rtol=1e-12)


def test_polynomial_decay(torch, jax, optax, keras):
    """polynomial_decay(α, T, p, final) is optax's polynomial_schedule and Keras's
    PolynomialDecay; PyTorch's PolynomialLR has no floor: with final = 0, the same."""
    total = 50
    expected = sch.polynomial_decay(0.1, total, power=2.0, final=0.01)(T)
    optax_lr = optax.polynomial_schedule(0.1, 0.01, 2.0, total)
    np.testing.assert_allclose([float(optax_lr(t)) for t in T], expected, rtol=1e-12)
    keras_lr = keras.optimizers.schedules.PolynomialDecay(
        np.float64(0.1), total, end_learning_rate=0.01, power=2.0
    )
    np.testing.assert_allclose([float(keras_lr(int(t))) for t in T], expected, rtol=1e-6)
    to_zero = sch.polynomial_decay(0.1, total, power=2.0)(T)
    poly = lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=total, power=2.0)  # noqa: E731
    rates = _torch_rates(torch, poly, 0.1, len(T))
    np.testing.assert_allclose(rates, to_zero, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("mult", [1, 2])
def test_cosine_restarts(torch, jax, optax, mult):
    """cosine_restarts(α, T0, m, floor) is PyTorch's CosineAnnealingWarmRestarts
    stepped once per update, and optax's sgdr_schedule of cosine decays with no
    warm-up (each decay_steps T_i long, so a cycle's step T_i is the next's 0)."""
    period, floor = 7, 0.01
    expected = sch.cosine_restarts(0.1, period, mult=mult, final=floor)(T)
    restarts = lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(  # noqa: E731
        o, T_0=period, T_mult=mult, eta_min=floor
    )
    np.testing.assert_allclose(_torch_rates(torch, restarts, 0.1, len(T)), expected, rtol=1e-12)
    cycles = [period * mult**i for i in range(12) if period * (mult**i - 1) <= len(T) * mult]
    kwargs = [
        dict(init_value=0.1, peak_value=0.1, warmup_steps=0, decay_steps=n, end_value=floor)
        for n in cycles
    ]
    optax_lr = optax.sgdr_schedule(kwargs)
    np.testing.assert_allclose([float(optax_lr(t)) for t in T], expected, rtol=1e-12)


@pytest.mark.parametrize("anneal, three_phase", [("cos", False), ("linear", False), ("cos", True)])
def test_one_cycle_as_pytorch(torch, anneal, three_phase):
    """PyTorch's OneCycleLR(total_steps=N, pct_start=p) is one_cycle(warmup=pN − 1,
    total=N − 1) (three phases: back = 2pN − 2), its momentum cycle
    one_cycle_momentum(low=base_momentum, high=max_momentum)."""
    n, pct = 100, 0.3
    warmup, back = round(pct * n) - 1, (round(2 * pct * n) - 2 if three_phase else None)
    cycle = sch.one_cycle(0.1, warmup, n - 1, div=25.0, final_div=1e4, anneal=anneal, back=back)
    momenta = []
    one_cycle = lambda o: torch.optim.lr_scheduler.OneCycleLR(  # noqa: E731
        o,
        max_lr=0.1,
        total_steps=n,
        pct_start=pct,
        anneal_strategy=anneal,
        three_phase=three_phase,
        base_momentum=0.85,
        max_momentum=0.95,
    )
    problem = on.problems.Quadratic(np.eye(1), start=(0.0,))
    _, rates, _ = torch_path(
        torch,
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        problem,
        n,
        scheduler=one_cycle,
        before_step=lambda opt, k: momenta.append(opt.param_groups[0]["momentum"]),
    )
    t = np.arange(n)
    np.testing.assert_allclose(rates, cycle(t), rtol=1e-12)
    mu = sch.one_cycle_momentum(cycle, low=0.85, high=0.95)(t)
    np.testing.assert_allclose(momenta, mu, rtol=1e-12)
    assert rates[-1] == pytest.approx(0.1 / 25 / 1e4)  # the minimum at the last step, N − 1


def test_one_cycle_as_optax(jax, optax):
    """optax's cosine_onecycle_schedule(T, α, p) peaks at int(pT) and reaches the
    minimum at T, one step later than PyTorch's N − 1 for N = T steps; its
    linear_onecycle_schedule is three phases, back at int(0.85 T)."""
    total, pct = 120, 0.25
    cosine = optax.cosine_onecycle_schedule(total, 0.1, pct_start=pct)
    ours = sch.one_cycle(0.1, int(pct * total), total)
    np.testing.assert_allclose(
        [float(cosine(t)) for t in range(150)], ours(np.arange(150)), rtol=1e-12
    )
    linear = optax.linear_onecycle_schedule(total, 0.1, pct_start=pct, pct_final=0.85)
    ours = sch.one_cycle(0.1, int(pct * total), total, anneal="linear", back=int(0.85 * total))
    np.testing.assert_allclose(
        [float(linear(t)) for t in range(150)], ours(np.arange(150)), rtol=1e-12
    )


def test_warmup_stable_decay_as_joined_schedules(torch, jax, optax):
    """warmup_stable_decay(α, W, S, D, floor) with a linear decay is optax's
    join_schedules of a linear warm-up, a constant and a linear decay, and PyTorch's
    SequentialLR of LinearLR, ConstantLR and LinearLR (neither framework has WSD
    as one schedule)."""
    warm, stable, decay, floor = 10, 30, 25, 0.01
    expected = sch.warmup_stable_decay(0.1, warm, stable, decay, final=floor)(T)
    joined = optax.join_schedules(
        [
            optax.linear_schedule(0.1 / warm, 0.1, warm - 1),
            optax.constant_schedule(0.1),
            optax.linear_schedule(0.1, floor, decay),
        ],
        [warm, warm + stable],
    )
    np.testing.assert_allclose([float(joined(t)) for t in T], expected, rtol=1e-12)
    sequential = lambda o: torch.optim.lr_scheduler.SequentialLR(  # noqa: E731
        o,
        [
            torch.optim.lr_scheduler.LinearLR(o, 1 / warm, 1.0, total_iters=warm - 1),
            torch.optim.lr_scheduler.ConstantLR(o, factor=1.0, total_iters=stable),
            torch.optim.lr_scheduler.LinearLR(o, 1.0, floor / 0.1, total_iters=decay),
        ],
        milestones=[warm, warm + stable],
    )
    np.testing.assert_allclose(_torch_rates(torch, sequential, 0.1, len(T)), expected, rtol=1e-12)


def test_momentum_ramp_and_constant(jax, optax):
    expected = sch.momentum_ramp(0.5, 0.99, steps=40)(T)
    optax_mu = optax.linear_schedule(0.5, 0.99, 40)
    np.testing.assert_allclose([float(optax_mu(t)) for t in T], expected, rtol=1e-12)
    constant = optax.constant_schedule(0.1)
    np.testing.assert_allclose([float(constant(t)) for t in T], sch.constant(0.1)(T), rtol=0)


# --- Defaults the book quotes, read from the frameworks ------------------------------------------


def _default(torch, optax, keras, framework: str, name: str, parameter: str):
    if framework == "PyTorch":
        function = getattr(torch.optim, name)
    elif framework == "Keras":
        function = getattr(keras.optimizers, name)
    else:
        function = getattr(optax, name)
    return inspect.signature(function).parameters[parameter].default


@pytest.mark.parametrize("framework", sorted(conventions.DEFAULTS))
def test_defaults_the_book_quotes(torch, jax, optax, keras, framework):
    """conventions.DEFAULTS, printed by the conventions chapter, against the frameworks."""
    wrong = []
    for name, defaults in conventions.DEFAULTS[framework].items():
        for parameter, quoted in defaults.items():
            actual = _default(torch, optax, keras, framework, name, parameter)
            if actual != quoted:
                wrong.append(f"{framework} {name} {parameter}: book {quoted!r}, actual {actual!r}")
    assert not wrong, "\n".join(wrong)


def test_versions(torch, jax, optax, keras):
    """conventions.VERSIONS, and the versions conventions.md names, are installed."""
    actual = {"PyTorch": torch.__version__, "Keras": keras.__version__, "optax": optax.__version__}
    page = (ROOT / "book" / "conventions.md").read_text()
    for framework, version in conventions.VERSIONS.items():
        assert re.match(rf"{re.escape(version)}(\.|\+|$)", actual[framework]), (
            framework,
            actual[framework],
        )
        assert f"{framework} {version}" in page, f"conventions.md lacks {framework} {version}"


def test_the_tests_conventions_md_names_exist():
    """conventions.md lists, row by row, the tests that hold it; they must exist here."""
    page = (ROOT / "book" / "conventions.md").read_text()
    named = set(re.findall(r"\btest_\w+", page)) - {"test_frameworks"}
    assert len(named) > 20
    missing = sorted(name for name in named if name not in globals())
    assert not missing, missing


def test_optnotes_defaults_as_their_docstrings_say(torch, jax, optax, keras):
    """Where an optnotes rule's docstring names a framework for a default."""
    signature = lambda f: inspect.signature(f).parameters  # noqa: E731
    torch_opt, keras_opt = torch.optim, keras.optimizers
    assert on.Adagrad().lr == signature(torch_opt.Adagrad)["lr"].default  # "(PyTorch)"
    assert on.Adagrad().eps != signature(torch_opt.Adagrad)["eps"].default
    assert on.RMSProp().eps == signature(torch_opt.RMSprop)["eps"].default
    assert on.RMSProp().lr == signature(keras_opt.RMSprop)["learning_rate"].default
    assert on.RMSProp().rho != signature(torch_opt.RMSprop)["alpha"].default
    assert on.Adadelta().lr == signature(torch_opt.Adadelta)["lr"].default
    assert on.Adadelta().lr != signature(keras_opt.Adadelta)["learning_rate"].default
    assert on.Adam().eps == signature(torch_opt.Adam)["eps"].default
    assert on.Adam().eps == signature(optax.adam)["eps"].default
    assert on.AdaMax().lr == signature(torch_opt.Adamax)["lr"].default
    nadam = signature(torch_opt.NAdam)
    assert (on.Nadam().lr, on.Nadam().eps) == (nadam["lr"].default, nadam["eps"].default)
    keras_nadam = signature(keras_opt.Nadam)
    assert (on.Nadam().lr, on.Nadam().eps) != (
        keras_nadam["learning_rate"].default,
        keras_nadam["epsilon"].default,
    )
    assert on.AdamW().weight_decay == signature(torch_opt.AdamW)["weight_decay"].default
    assert on.Yogi().eps == signature(optax.yogi)["eps"].default
    assert on.SGD().lr == signature(keras_opt.SGD)["learning_rate"].default
