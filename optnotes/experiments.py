"""Every experiment in the book, by name.

A chapter shows one with ``experiments.make("momentum-ravine").show()``. Each
declares its ``static`` controls: the one or two the chapter asks the reader
to move, which get sliders on the static page (Adagrad's page, with three
experiments, gives its rare-feature experiment one, the density, to stay
under 5 MB with its frames). The
tests drive each through its controls' extremes and ``python -m optnotes.bench
widgets`` times their updates, from this one registry.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from . import plots, problems, rules, schedules
from . import widgets as w
from .analysis import momentum_radius
from .large_models import factored, kronecker, layerwise, memory, orthogonal, schedule_free, sign
from .plots import Path, PathFigure, trace

REGISTRY = {}


def experiment(name: str):
    """Register a function that builds an experiment under ``name``."""

    def register(build):
        REGISTRY[name] = build
        return build

    return register


def make(name: str) -> w.Experiment:
    if name not in REGISTRY:
        raise ValueError(f"no experiment named {name!r}; the book has {sorted(REGISTRY)}")
    return REGISTRY[name]()


@lru_cache(maxsize=64)
def problem_named(name: str, kappa: float = 20.0, angle: float = 0.0):
    """One instance per problem, so figures can keep their contour backgrounds."""
    if name == "ravine":
        return problems.ravine(kappa, angle)
    if name not in problems.PROBLEMS:
        known = ", ".join(["ravine", *problems.PROBLEMS])
        raise ValueError(f"no problem named {name!r}: choose one of {known}")
    return problems.PROBLEMS[name]()


def states(rule, grad_fn, x0, steps: int) -> tuple[np.ndarray, list]:
    """Every iterate and the state after every step (for plotting what a rule keeps)."""
    x, state = np.asarray(x0, dtype=float), rule.init(x0)
    xs, kept = [x], []
    for _ in range(steps):
        x, state = rule.step(x, grad_fn, state)
        xs.append(x)
        kept.append(state)
    return np.array(xs), kept


class Prefixes:
    """Runs that a shorter run is the start of: ``runs(key, steps)`` runs
    ``run(*key, steps)`` once for the longest ``steps`` asked of a key, and cuts
    it short for fewer (a slider over the steps costs one run, not one a step)."""

    def __init__(self, run, keep: int = 16):
        self.run, self.keep, self.longest = run, keep, {}

    def __call__(self, key: tuple, steps: int) -> np.ndarray:
        xs = self.longest.get(key)
        if xs is None or len(xs) <= steps:
            xs = self.run(*key, steps)
            self.longest.pop(key, None)
            if len(self.longest) >= self.keep:
                self.longest.pop(next(iter(self.longest)))  # the oldest key
            self.longest[key] = xs
        return xs[: steps + 1]


def line_figure(ncols: int = 1, width: float = 9.0, height: float = 3.6):
    """A figure for curves (not contours), laid out once."""
    return plots.new_figure(width, height, ncols=ncols)


def rule_named(name: str, **hyper):
    """A rule by class name, given only the hyperparameters it takes."""
    Rule = getattr(rules, name)
    fields = {f.name for f in dataclasses.fields(Rule)}
    return Rule(**{k: v for k, v in hyper.items() if k in fields})


# --- Chapter 1: the training loop and gradient descent ---------------------------


@experiment("gd-ravine")
def gd_ravine():
    view = PathFigure()

    def draw(lr, kappa, steps):
        problem = problem_named("ravine", round(kappa, 2))
        view.show_problem(problem)
        view.set_paths({"SGD": trace(rules.SGD(lr=lr), problem.grad, problem.start, steps)})
        return view

    controls = {"lr": w.lr(1.6, 1e-2, 3.0), "kappa": w.kappa(), "steps": w.steps(40)}
    return w.Experiment("gd-ravine", controls, draw, static=("lr",))


@experiment("gd-landscapes")
def gd_landscapes():
    view = PathFigure()

    def draw(problem, lr, steps):
        p = problem_named(problem)
        view.show_problem(p)
        view.set_paths({"SGD": trace(rules.SGD(lr=lr), p.grad, p.start, steps)})
        return view

    controls = {"problem": w.problem("saddle"), "lr": w.lr(0.1, 1e-3, 1.0), "steps": w.steps(100)}
    return w.Experiment("gd-landscapes", controls, draw, static=("problem", "lr"))


@experiment("sgd-batch-size")
def sgd_batch_size():
    view = PathFigure()
    problem = problems.LeastSquares()

    def draw(batch, lr, steps):
        view.show_problem(problem)
        full = trace(rules.SGD(lr=lr), problem.grad, problem.start, steps)
        oracle = problem.minibatch_oracle(batch_size=batch, seed=1)
        noisy = trace(rules.SGD(lr=lr), oracle, problem.start, steps)
        view.set_paths({"full batch": full, f"batch of {batch}": noisy})
        return view

    controls = {
        "batch": w.Int("batch size", 4, 1, problem.n),
        "lr": w.lr(0.2, 1e-3, 1.0),
        "steps": w.steps(100),
    }
    return w.Experiment("sgd-batch-size", controls, draw, static=("batch", "lr"))


# --- Chapter 2: momentum ---------------------------------------------------------


@experiment("momentum-ravine")
def momentum_ravine():
    view = PathFigure()

    def draw(lr, mu, steps):
        p = problem_named("ravine", 50.0)
        view.show_problem(p)
        view.set_paths(
            {
                "SGD": trace(rules.SGD(lr=lr), p.grad, p.start, steps),
                "Momentum": trace(rules.Momentum(lr=lr, mu=mu), p.grad, p.start, steps),
            }
        )
        return view

    controls = {"lr": w.lr(0.5, 1e-3, 3.0), "mu": w.mu(0.8), "steps": w.steps(60)}
    return w.Experiment("momentum-ravine", controls, draw, static=("lr", "mu"))


@experiment("momentum-rate-map")
def momentum_rate_map():
    fig, (ax,) = plots.new_figure(6.2, 4.4)
    # The map is an image on a grid uniform in log10(alpha): one raster, redrawn
    # in place (a mesh of 44,000 cells costs more than the 100 ms budget).
    log_alphas = np.linspace(np.log10(0.05), 1.0, 240)
    mus = np.linspace(0, 0.99, 200)
    A, MU = np.meshgrid(10**log_alphas, mus)
    extent = (log_alphas[0], log_alphas[-1], mus[0], mus[-1])
    image = ax.imshow(
        np.ones_like(A),
        extent=extent,
        origin="lower",
        aspect="auto",
        cmap="cividis",
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, label="rate per step (white: diverges)")
    (star,) = ax.plot([], [], "*", ms=14, color=plots.VERMILLION, mec="white")
    gd = ax.axvline(0.0, color="0.3", ls=":", lw=1)
    label = ax.text(
        0.02,
        0.96,
        "",
        transform=ax.transAxes,
        va="top",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
    )
    ticks = [0.1, 0.3, 1, 3, 10]
    ax.set_xticks(np.log10(ticks), [f"{t:g}" for t in ticks])
    ax.set(xlabel="learning rate α (curvatures in [1/κ, 1])", ylabel="momentum μ")

    def draw(kappa):
        lam_min, lam_max = 1.0 / kappa, 1.0
        rate = np.maximum(momentum_radius(A * lam_min, MU), momentum_radius(A * lam_max, MU))
        shown = np.where(rate < 1, rate, np.nan)
        image.set_data(shown)
        image.set_clim(np.nanmin(shown), 1.0)
        a_star = (2 / (np.sqrt(lam_min) + np.sqrt(lam_max))) ** 2
        mu_star = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
        star.set_data([np.log10(a_star)], [mu_star])
        gd.set_xdata([np.log10(2 / (lam_min + lam_max))] * 2)
        label.set_text(f"best: α = {a_star:.3g}, μ = {mu_star:.3g}, rate {np.sqrt(mu_star):.4f}")
        ax.set_title(f"convergence rate of heavy-ball momentum, κ = {kappa:.3g}")
        return fig

    return w.Experiment("momentum-rate-map", {"kappa": w.kappa(100.0, 1.0, 1000.0)}, draw)


# --- Chapter 3: Nesterov ---------------------------------------------------------


@experiment("nesterov-vs-momentum")
def nesterov_vs_momentum():
    view = PathFigure()

    def draw(problem, lr, mu, steps):
        p = problem_named(problem)
        view.show_problem(p)
        paths: dict[str, Path] = {
            name: trace(rule_named(name, lr=lr, mu=mu), p.grad, p.start, steps)
            for name in ("Momentum", "Nesterov")
        }
        view.set_paths(paths)
        return view

    controls = {
        "problem": w.problem("ravine", ("ravine", "Rosenbrock", "Beale")),
        "lr": w.lr(0.6, 1e-4, 3.0),
        "mu": w.mu(0.9),
        "steps": w.steps(80),
    }
    return w.Experiment("nesterov-vs-momentum", controls, draw, static=("lr", "mu"))


# --- Adaptive methods ------------------------------------------------------------


@experiment("preconditioning")
def preconditioning():
    view = PathFigure()

    def draw(angle, kappa, lr, steps):
        p = problem_named("ravine", round(kappa, 2), round(float(np.radians(angle)), 4))
        view.show_problem(p)
        diagonal = np.diag(1 / np.diag(p.hessian))
        newton = np.linalg.inv(p.hessian)
        view.set_paths(
            {
                "SGD": trace(rules.SGD(lr=lr), p.grad, p.start, steps),
                "diagonal preconditioning": trace(
                    rules.Preconditioned(lr=lr, preconditioner=diagonal), p.grad, p.start, steps
                ),
                "Newton": trace(
                    rules.Preconditioned(lr=1.0, preconditioner=newton), p.grad, p.start, steps
                ),
            }
        )
        return view

    controls = {
        "angle": w.Float("ravine turned by (degrees)", 30, 0, 90, step=1),
        "kappa": w.kappa(20.0, 1.0, 100.0),
        "lr": w.lr(0.9, 1e-2, 2.5),
        "steps": w.steps(30, 1, 200),
    }
    return w.Experiment("preconditioning", controls, draw, static=("angle", "lr"))


@experiment("adagrad-ravine")
def adagrad_ravine():
    view = PathFigure()

    def draw(lr, kappa, steps):
        p = problem_named("ravine", round(kappa, 2))
        view.show_problem(p)
        view.set_paths(
            {
                name: trace(rule_named(name, lr=lr), p.grad, p.start, steps)
                for name in ("SGD", "Adagrad")
            }
        )
        return view

    controls = {"lr": w.lr(1.0, 1e-2, 5.0), "kappa": w.kappa(), "steps": w.steps(100, 1, 500)}
    return w.Experiment("adagrad-ravine", controls, draw, static=("kappa", "lr"))


@experiment("adagrad-effective-rate")
def adagrad_effective_rate():
    fig, (ax,) = line_figure(width=6.4, height=3.8)
    colours = (plots.BLUE, plots.VERMILLION)
    lines = [ax.plot([], [], color=c)[0] for c in colours]
    limits = [ax.axhline(1, color=c, ls=":", lw=1) for c in colours]  # stability limits 2/λ
    ax.set(xscale="log", yscale="log", xlabel="step t", ylabel="effective learning rate α/(√r + ε)")
    plots.plain_log_ticks(ax.yaxis)
    ax.set_title("Adagrad on the ravine (dotted: stability limit 2/λ)")

    def draw(lr, kappa, steps):
        p = problem_named("ravine", round(kappa, 2))
        curvatures = np.diag(p.hessian)
        rule = rules.Adagrad(lr=lr)
        _, kept = states(rule, p.grad, p.start, steps)
        r = np.array([s.r for s in kept])
        effective = lr / (np.sqrt(r) + rule.eps)
        t = np.arange(1, steps + 1)
        for i, (line, limit, lam) in enumerate(zip(lines, limits, curvatures, strict=True)):
            line.set_data(t, effective[:, i])
            line.set_label(f"x{i + 1}: curvature {lam:.3g}")
            limit.set_ydata([2 / lam, 2 / lam])
        ax.legend(loc="best")  # where the lines are not, for any κ
        ax.set_xlim(1, max(steps, 2))
        top = max(effective.max(), 2 / curvatures.min())
        ax.set_ylim(min(effective.min(), 2 / curvatures.max()) / 2, top * 2)
        return fig

    controls = {"lr": w.lr(1.0, 1e-2, 5.0), "kappa": w.kappa(), "steps": w.steps(300, 2, 2000)}
    return w.Experiment("adagrad-effective-rate", controls, draw, static=("kappa", "lr"))


SPARSE_START = (-2.0, 2.5)


@lru_cache(maxsize=32)
def sparse_problem(density: float):
    """Noisy least squares whose second feature is present in a fraction of examples."""
    return problems.LeastSquares(density=(1.0, density), scales=(1.0, 1.0), noise=0.5, seed=0)


@experiment("adagrad-sparse")
def adagrad_sparse():
    figure, (error_ax, rate_ax) = line_figure(ncols=2)
    live = plots.LiveFigure(figure)
    # Fixed ranges: the axes, ticks and labels are drawn once (see LiveFigure).
    error_ax.set(yscale="log", ylim=(1e-4, 10), xlabel="step t", ylabel="|w − w*|")
    error_ax.set_title("error per coordinate (solid: common, dashed: rare)")
    rate_ax.set(yscale="log", ylim=(1e-3, 10), xlabel="step t", ylabel="step / gradient")
    rate_ax.set_title("effective learning rates")
    for ax in (error_ax, rate_ax):
        plots.plain_log_ticks(ax.yaxis)
    kinds = (("common", "-"), ("rare", "--"))
    errors = {
        (name, i): error_ax.plot([], [], color=plots.style(name)["color"], ls=ls, lw=1.2)[0]
        for name in ("SGD", "Adagrad")
        for i, (kind, ls) in enumerate(kinds)
    }
    green = plots.style("Adagrad")["color"]
    (sgd_rate,) = rate_ax.plot([], [], label="SGD, α₀/√(1+t)", **plots.style("SGD"))
    rates = [
        rate_ax.plot([], [], color=green, ls=ls, label=f"Adagrad, {kind}")[0] for kind, ls in kinds
    ]
    rate_ax.legend(loc="lower left")
    live.animate(*errors.values(), sgd_rate, *rates)
    figure.suptitle("noisy least squares, batches of 8; a rare second feature")

    def draw(density, lr, steps):
        p = sparse_problem(round(density, 4))
        w_star = np.array(p.minima[0])
        schedule = schedules.inverse_sqrt_decay(lr)
        adagrad = rules.Adagrad(lr=lr)
        sgd_xs = trace(
            rules.SGD(lr=schedule), p.minibatch_oracle(8, seed=1), SPARSE_START, steps
        ).xs
        adagrad_xs, kept = states(adagrad, p.minibatch_oracle(8, seed=1), SPARSE_START, steps)
        for name, xs in (("SGD", sgd_xs), ("Adagrad", adagrad_xs)):
            error = np.maximum(np.abs(xs - w_star), 1e-16)
            for i in range(2):
                errors[name, i].set_data(np.arange(len(error)), error[:, i])
        r = np.array([s.r for s in kept])
        effective = np.where(r > 0, lr / (np.sqrt(r) + adagrad.eps), np.nan)  # r = 0: nothing yet
        t = np.arange(steps)
        sgd_rate.set_data(t, schedule(t))
        for i, line in enumerate(rates):
            line.set_data(t, effective[:, i])
        live.steps_shown((error_ax, rate_ax), steps)
        return live

    controls = {
        "density": w.Log("density of the rare feature", 0.03, 0.01, 1.0),
        "lr": w.lr(0.3, 1e-2, 2.0),
        "steps": w.steps(500, 10, 2000),
    }
    return w.Experiment("adagrad-sparse", controls, draw, static=("density",))


@experiment("rmsprop-vs-adagrad")
def rmsprop_vs_adagrad():
    view = PathFigure()

    def draw(problem, lr, rho, steps):
        p = problem_named(problem)
        view.show_problem(p)
        view.set_paths(
            {
                "Adagrad": trace(rules.Adagrad(lr=lr), p.grad, p.start, steps),
                "RMSProp": trace(rules.RMSProp(lr=lr, rho=rho), p.grad, p.start, steps),
            }
        )
        return view

    controls = {
        "problem": w.problem("Rosenbrock", ("Rosenbrock", "ravine", "Beale", "saddle")),
        "lr": w.lr(0.02, 1e-4, 0.5),
        "rho": w.Float("decay ρ", 0.9, 0.5, 0.999, step=0.001),
        "steps": w.steps(400, 1, 1500),
    }
    return w.Experiment("rmsprop-vs-adagrad", controls, draw, static=("lr", "rho"))


@experiment("adadelta")
def adadelta():
    view = PathFigure()

    def draw(problem, rho, eps, lr, steps):
        p = problem_named(problem)
        view.show_problem(p)
        view.set_paths(
            {
                "Adadelta": trace(rules.Adadelta(rho=rho, eps=eps), p.grad, p.start, steps),
                "RMSProp": trace(rules.RMSProp(lr=lr, rho=rho), p.grad, p.start, steps),
            }
        )
        return view

    controls = {
        "problem": w.problem("ravine", ("ravine", "Rosenbrock", "Beale")),
        "rho": w.Float("decay ρ", 0.95, 0.5, 0.999, step=0.001),
        "eps": w.Log("ε (Adadelta)", 1e-6, 1e-10, 1e-1),
        "lr": w.lr(0.02, 1e-4, 0.5),
        "steps": w.steps(300, 1, 1500),
    }
    return w.Experiment("adadelta", controls, draw, static=("eps", "rho"))


# --- Adam and its successors -----------------------------------------------------


@experiment("adam")
def adam():
    view = PathFigure()

    def draw(problem, lr, beta1, beta2, bias_correction, steps):
        p = problem_named(problem)
        view.show_problem(p)
        corrected = bias_correction == "on"
        label = "Adam" if corrected else "Adam (uncorrected)"
        adam_rule = rules.Adam(lr=lr, beta1=beta1, beta2=beta2, bias_correction=corrected)
        # Momentum adds up α g/√r over about 1/(1 − μ) steps; Adam averages
        # (1 − β₁) g. The same step scale needs α(1 − β₁) for the momentum rule.
        # The two still differ in three ways (adam.md): RMSProp divides each
        # gradient by the √r of its own step, Adam today's average by today's
        # √v̂ (Kingma & Ba, Section 5); Adam corrects its bias; the momentum
        # rule takes its gradient at the look-ahead point.
        rmsprop = rules.RMSPropNesterov(lr=lr * (1 - beta1), rho=beta2, mu=beta1)
        view.set_paths(
            {
                label: trace(adam_rule, p.grad, p.start, steps),
                "RMSPropNesterov, α(1 − β₁)": trace(rmsprop, p.grad, p.start, steps),
            }
        )
        return view

    controls = {
        "problem": w.problem("Rosenbrock", ("Rosenbrock", "ravine", "Beale", "saddle", "plateau")),
        "lr": w.lr(0.05, 1e-4, 1.0),
        "beta1": w.Float("β₁", 0.9, 0.0, 0.99, step=0.01),
        "beta2": w.Float("β₂", 0.999, 0.5, 0.9999, step=0.0001),
        "bias_correction": w.Choice("bias correction", "on", ("on", "off")),
        "steps": w.steps(300, 1, 1500),
    }
    return w.Experiment("adam", controls, draw, static=("bias_correction", "lr"))


@experiment("amsgrad-counterexample")
def amsgrad_counterexample():
    figure, (x_ax, regret_ax) = line_figure(ncols=2)
    live = plots.LiveFigure(figure)
    x_ax.set(ylim=(-1.08, 1.08), xlabel="step t", ylabel="x_t")
    x_ax.axhline(-1, color="0.5", ls=":", lw=1)
    x_ax.set_title("iterate (best point: x = −1)")
    regret_ax.set(yscale="log", ylim=(1e-3, 10), xlabel="step t", ylabel="regret / t")
    plots.plain_log_ticks(regret_ax.yaxis)
    regret_ax.set_title("average regret")
    names = ("Adam", "AMSGrad")
    iterates = [x_ax.plot([], [], label=n, lw=1.2, **plots.style(n))[0] for n in names]
    regrets = [regret_ax.plot([], [], label=n, **plots.style(n))[0] for n in names]
    x_ax.legend(loc="center right")
    live.animate(*iterates, *regrets)

    def run(name, C, steps):
        problem = problems.AdamCounterexample(C)
        lr = schedules.inverse_sqrt_decay(problem.alpha)
        hyper = {"lr": lr, "beta1": 0.0, "beta2": problem.beta2, "eps": 1e-12}
        return problem.run(rule_named(name, **hyper), steps)

    runs = Prefixes(run)

    def draw(C, steps):
        problem = problems.AdamCounterexample(C)
        for name, x_line, r_line in zip(names, iterates, regrets, strict=True):
            xs = runs((name, C), steps)
            x_line.set_data(np.arange(len(xs)), xs)
            r_line.set_data(np.arange(1, len(xs)), np.maximum(problem.average_regret(xs), 1e-12))
        live.steps_shown((x_ax, regret_ax), steps)
        return live

    controls = {
        "C": w.Float("large gradient C", 3.0, 2.5, 10.0, step=0.1),
        "steps": w.steps(600, 30, 3000),
    }
    return w.Experiment("amsgrad-counterexample", controls, draw, static=("C",))


# --- Cliffs and clipping ------------------------------------------------------------


@experiment("clipping")
def clipping_experiment():
    from .clipping import ClipByNorm

    view = PathFigure()
    problem = problems.Cliff()

    def draw(lr, max_norm, steps):
        view.show_problem(problem)
        sgd = rules.SGD(lr=lr)
        view.set_paths(
            {
                "SGD": trace(sgd, problem.grad, problem.start, steps),
                f"clipped at c = {max_norm:g}": trace(
                    ClipByNorm(sgd, max_norm=max_norm), problem.grad, problem.start, steps
                ),
            }
        )
        return view

    controls = {
        "lr": w.lr(1.0, 1e-2, 3.0),
        "max_norm": w.Log("clipping threshold c", 1.0, 0.05, 20.0),
        "steps": w.steps(60, 1, 300),
    }
    return w.Experiment("clipping", controls, draw, static=("lr", "max_norm"))


# --- Schedules and practice --------------------------------------------------------

SCHEDULES = (
    "constant",
    "step decay",
    "exponential",
    "1/t",
    "linear to zero",
    "cosine",
    "warm-up + cosine",
    "cosine restarts",
    "one-cycle",
    "warm-up–stable–decay",
)


def schedule_named(name: str, initial: float, steps: int):
    """A schedule of the given kind, with its constants set from the run's length."""
    if name == "constant":
        return schedules.constant(initial)
    if name == "step decay":
        return schedules.step_decay(initial, factor=0.5, every=max(steps // 5, 1))
    if name == "exponential":
        return schedules.exponential_decay(initial, k=4.0 / steps)
    if name == "1/t":
        return schedules.inverse_time_decay(initial, k=20.0 / steps)
    if name == "cosine":
        return schedules.cosine_decay(initial, total=steps)
    if name == "warm-up + cosine":
        warm = max(steps // 10, 1)
        return schedules.linear_warmup(schedules.cosine_decay(initial, total=steps - warm), warm)
    if name == "linear to zero":
        return schedules.polynomial_decay(initial, total=steps)
    if name == "cosine restarts":  # cycles of T0, 2 T0, 4 T0: 7 T0 ≥ steps in all
        return schedules.cosine_restarts(initial, period=max(-(-steps // 7), 1), mult=2)
    if name == "one-cycle":
        return schedules.one_cycle(initial, warmup=max(3 * steps // 10, 1), total=steps)
    if name == "warm-up–stable–decay":
        warm, decay = max(steps // 10, 1), max(steps // 5, 1)
        return schedules.warmup_stable_decay(initial, warm, max(steps - warm - decay, 0), decay)
    raise ValueError(f"no schedule named {name!r}; the choices are {list(SCHEDULES)}")


@experiment("schedules")
def schedule_experiment():
    figure, (rate_ax, loss_ax) = line_figure(ncols=2)
    live = plots.LiveFigure(figure)
    rate_ax.set(yscale="log", ylim=(1e-4, 2), xlabel="step t", ylabel="α(t)")
    rate_ax.set_title("learning rate")
    loss_ax.set(yscale="log", ylim=(1e-5, 30), xlabel="step t")
    loss_ax.set_title("minibatch SGD, f(x_t) − f*")
    for ax in (rate_ax, loss_ax):
        plots.plain_log_ticks(ax.yaxis)
    kinds = {"constant α₀": plots.BLACK, "schedule": plots.BLUE}
    rates = {k: rate_ax.plot([], [], color=c, label=k)[0] for k, c in kinds.items()}
    losses = {k: loss_ax.plot([], [], color=c, lw=1.0, label=k)[0] for k, c in kinds.items()}
    loss_ax.legend(loc="upper right")
    live.animate(*rates.values(), *losses.values())
    problem = problems.LeastSquares()
    f_star = float(problem.value(np.array(problem.minima[0])))

    def draw(schedule, lr, steps):
        t = np.arange(steps)
        for kind in kinds:
            rate = schedule_named("constant" if kind == "constant α₀" else schedule, lr, steps)
            xs = trace(
                rules.SGD(lr=rate), problem.minibatch_oracle(4, seed=3), problem.start, steps
            ).xs
            rates[kind].set_data(t, rate(t))
            losses[kind].set_data(
                np.arange(len(xs)), np.maximum(problem.value(xs.T) - f_star, 1e-12)
            )
        live.steps_shown((rate_ax, loss_ax), steps)
        return live

    controls = {
        "schedule": w.Choice("schedule", "cosine", SCHEDULES),
        "lr": w.lr(0.3, 1e-3, 1.0),
        "steps": w.steps(400, 20, 2000),
    }
    return w.Experiment("schedules", controls, draw, static=("schedule", "lr"))


@experiment("race")
def race_experiment():
    from . import race  # race imports this module, so import it when first drawn

    view = PathFigure()

    def draw(problem, start, names, steps):
        p = problem_named(problem)
        view.show_problem(p)
        begin = None if start == "standard" else race.OTHER_STARTS[problem]
        view.set_paths(race.race(problem, names, steps, begin))
        return view

    everyone = tuple(r.__name__ for r in rules.ALL_RULES)
    controls = {
        "problem": w.Choice("problem", "Beale", ("ravine", "Rosenbrock", "Beale", "saddle")),
        "start": w.Choice("start", "standard", ("standard", "other")),
        "names": w.rules(("SGD", "Momentum", "Nesterov", "RMSProp", "Adam"), everyone),
        "steps": w.steps(300, 10, 300),
    }
    return w.Experiment("race", controls, draw, static=("problem", "start"))


# --- Optimizers of large models: each chapter's module builds its experiments ------

for _chapter in (layerwise, sign, factored, kronecker, orthogonal, schedule_free, memory):
    REGISTRY.update(_chapter.EXPERIMENTS)
