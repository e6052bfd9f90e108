"""The deep digits network as the test bench of the part "Optimizers of large
models": one run of a rule gives its training loss against steps and against
seconds, and one figure compares several rules over several seeds.

Every chapter of the part that trains the network calls these, so the runs are
the same everywhere: the network of :func:`optnotes.problems.deep_digits_network`
(64-64-32-10), mini-batches of 32 drawn with the run's seed, the full training
loss every ``every`` steps, and each block of parameters given to the rule by
:class:`optnotes.layers.ByLayer` (matrices to ``rule``, vectors to ``vectors``).

Seconds are measured on the machine that runs the page (the rule's steps only,
not the evaluations of the loss), so that axis, unlike the other, changes a
little from build to build.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import _checks, plots


@dataclass(frozen=True)
class Curve:
    """One training run: the training loss at ``steps`` (0 = the start), the
    measured seconds per step, and the step at which the run blew up, if it did
    (its curve ends there)."""

    steps: np.ndarray
    loss: np.ndarray
    seconds_per_step: float
    diverged_at: int | None = None


@lru_cache(maxsize=1)
def bench():
    """The network and its data, (network, (X, y, X_test, y_test))."""
    from .. import data, problems

    return problems.deep_digits_network(), data.digits()


def curve(rule, steps: int, seed: int = 0, vectors=None, every: int = 25, batch_size: int = 32):
    """Train the network from its seeded start for ``steps`` steps with ``rule``
    on its weight matrices and ``vectors`` on its bias vectors (``rule`` on both
    if ``vectors`` is None); the training loss every ``every`` steps.

    The parameters the rule returns are the ones evaluated (a schedule-free
    rule returns its average, where its gradient is not taken)."""
    from ..layers import ByLayer

    steps = _checks.whole("steps", steps, low=1)
    every = _checks.whole("every", every, low=1)
    net, (X, y, *_) = bench()
    by_layer = ByLayer(rule, vectors=vectors, layout=net.layout)
    grad_fn = net.minibatch_oracle(X, y, batch_size, seed)
    w = net.init(seed)
    state = by_layer.init(w)
    at, losses, seconds, diverged = [0], [net.loss(w, X, y)], 0.0, None
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            start = time.perf_counter()
            try:
                w, state = by_layer.step(w, grad_fn, state)
            except FloatingPointError:
                diverged = t
                break
            seconds += time.perf_counter() - start
            if t % every == 0 or t == steps:
                loss = net.loss(w, X, y)
                if not np.isfinite(loss):
                    diverged = t
                    break
                at.append(t)
                losses.append(loss)
    done = diverged - 1 if diverged else steps
    return Curve(np.array(at), np.array(losses), seconds / max(done, 1), diverged)


def tune(make, rates, steps: int, seeds=(0,), vectors=None, every: int = 25):
    """The rate of ``rates`` whose runs end lowest: ``make(rate)`` builds the
    rule; each rate is run for ``steps`` steps with every seed of ``seeds``, and
    scored by the median final training loss (a run that blew up scores
    infinity). Returns (best rate, {rate: score}); the best rate at an end of
    the grid means the grid should be widened, and the caller should say so or
    widen it."""
    scores = {}
    for rate in rates:
        finals = [
            np.inf if c.diverged_at else c.loss[-1]
            for c in (curve(make(rate), steps, s, vectors, every) for s in seeds)
        ]
        scores[rate] = float(np.median(finals))
    return min(scores, key=scores.get), scores


def figure(curves: dict, title: str = "", log: bool = True):
    """Two panels: the training loss against steps and against seconds, one
    line per rule (the median over its seeds, the band from the lowest to the
    highest). ``curves`` maps a label to a list of :class:`Curve` (one per seed)
    of the same steps; a run that blew up is said on the figure."""
    fig, (by_step, by_time) = plots.new_figure(9.0, 3.6, ncols=2, sharey=True)
    blown = []
    for i, (label, runs) in enumerate(curves.items()):
        kept = [c for c in runs if c.diverged_at is None]
        if len(kept) < len(runs):
            blown.append(f"{label}: {len(runs) - len(kept)} of {len(runs)} runs blew up")
        if not kept:
            continue
        steps = kept[0].steps
        losses = np.array([c.loss for c in kept])
        seconds = float(np.median([c.seconds_per_step for c in kept]))
        low, mid, high = np.min(losses, 0), np.median(losses, 0), np.max(losses, 0)
        style = plots.style(label, i)
        for ax, xs in ((by_step, steps), (by_time, steps * seconds)):
            ax.plot(xs, mid, label=label, **style)
            ax.fill_between(xs, low, high, color=style["color"], alpha=0.15, lw=0)
    if log:
        by_step.set_yscale("log")
    by_step.set_xlabel("step")
    by_time.set_xlabel("seconds (measured on this machine)")
    by_step.set_ylabel("training loss")
    by_step.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    if blown:
        by_time.text(
            0.98, 0.98, "\n".join(blown), transform=by_time.transAxes,
            ha="right", va="top", color=plots.VERMILLION,
        )  # fmt: skip
    return fig


__all__ = ["Curve", "bench", "curve", "figure", "tune"]
