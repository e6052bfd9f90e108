"""Figures for the book: one style, one colour per rule, divergence on the figure.

Every figure is a :class:`matplotlib.figure.Figure` made without pyplot, so a
notebook never shows it twice and an experiment can redraw it in place.
:class:`PathFigure` draws a problem's contours once and then only moves the
paths on top of them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # figures are rendered to PNG; no window, no GUI toolkit

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator  # noqa: E402

from . import rules as _rules  # noqa: E402
from .trajectory import Diverged, run  # noqa: E402

# Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on white).
BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)

STYLE = {
    # rule name: (colour, line style): the same in every chapter
    "SGD": (BLACK, "-"),
    "Momentum": (ORANGE, "-"),
    "Nesterov": (SKY, "-"),
    "Adagrad": (GREEN, "-"),
    "RMSProp": (BLUE, "-"),
    "RMSPropNesterov": (BLUE, "--"),
    "Adadelta": (PURPLE, "-"),
    "Adam": (VERMILLION, "-"),
    "AdaMax": (VERMILLION, "--"),
    "Nadam": (ORANGE, "--"),
    "AMSGrad": (SKY, "--"),  # set apart from Adam: the two are compared directly
    "AdamW": (VERMILLION, "-."),
    "Yogi": (GREEN, "--"),
    "RAdam": (PURPLE, "--"),
    "LARS": (BLUE, ":"),
    "LAMB": (GREEN, ":"),
    "Adafactor": (GREEN, "-."),
    "SignSGD": (VERMILLION, ":"),  # Adam's colour: Adam without memory is signSGD
    "Signum": (SKY, "-."),
    "Lion": (PURPLE, "-."),
    "Shampoo": (BLUE, "-."),
    "SOAP": (ORANGE, ":"),
    "Muon": (BLACK, "--"),
    "ScheduleFreeSGD": (BLACK, ":"),
    "ScheduleFreeAdamW": (ORANGE, "-."),
}
assert set(STYLE) == {
    r.__name__ for r in (*_rules.ALL_RULES, *_rules.LARGE_MODEL_RULES, *_rules.MATRIX_RULES)
}

_STYLE_NAMES = {name.lower(): name for name in STYLE}
EXTRA_COLOURS = (BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, PURPLE)
"""For curves that are not rules (several learning rates, batch sizes): in order."""

RC = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "lines.linewidth": 1.8,
    "axes.titley": 1.01,  # a fixed title height: placing it automatically costs a redraw
}
matplotlib.rcParams.update(RC)


def style(label: str, index: int = 0) -> dict:
    """Line keywords for a curve: a rule keeps its own colour and line style in
    every chapter; any other curve takes the ``index``-th extra colour."""
    name = re.split(r"[ ,(]", label, maxsplit=1)[0]  # "Adam (uncorrected)" -> "Adam"
    name = _STYLE_NAMES.get(name.lower(), name)  # "signSGD", the paper's spelling
    if name in STYLE:
        colour, linestyle = STYLE[name]
    else:
        colour, linestyle = EXTRA_COLOURS[index % len(EXTRA_COLOURS)], "-"
    return {"color": colour, "linestyle": linestyle}


class BookFigure(Figure):
    """A Figure that shows itself as a PNG when it ends a notebook cell.

    The book renders with Agg, not the inline backend, so a plain Figure would
    show as "<Figure size ...>" text; this one gives IPython the image.
    """

    def _repr_png_(self) -> bytes:
        return png(self)


def new_figure(width: float = 9.0, height: float = 3.8, **subplots) -> tuple[Figure, np.ndarray]:
    """A figure with a grid of axes (``subplots`` as for ``Figure.subplots``)."""
    fig = BookFigure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(**subplots) if subplots else fig.subplots()
    return fig, np.atleast_1d(axes)


def png(fig) -> bytes:
    """Render a figure to PNG bytes (what a notebook output and the web page hold).

    ``fig`` is a matplotlib Figure or an object that renders itself (``fig.png()``,
    as :class:`PathFigure`). The first render of a Figure lays it out
    (constrained layout); later renders keep that layout, which is most of the
    cost of a redraw. Call :func:`relayout` when the axes change.
    """
    if not isinstance(fig, Figure):
        return fig.png()
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()  # a direct draw: savefig's extra passes cost as much again
    fig.set_layout_engine("none")
    return _encode(canvas)


def _encode(canvas) -> bytes:
    """The canvas as a palette PNG (256 colours, Pillow's fast octree): a third
    of the bytes of the full-colour PNG, no slower to make, and the same for
    every figure of the book, so a static slider's frames are exactly what
    ``Experiment.update`` renders."""
    rgb = PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    buffer = io.BytesIO()
    rgb.quantize(256, method=PIL.Image.Quantize.FASTOCTREE).save(buffer, "png", compress_level=3)
    return buffer.getvalue()


def relayout(fig: Figure) -> None:
    """Lay the figure out again on its next render."""
    fig.set_layout_engine("constrained")


def plain_log_ticks(axis) -> None:
    """Log-axis ticks as plain text ("1e-08"): mathtext labels cost most of a redraw."""
    axis.set_major_locator(LogLocator(numticks=6))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}"))
    axis.set_minor_locator(NullLocator())


@dataclass(frozen=True)
class Path:
    """Iterates of one run, and where it diverged (``None`` if it did not)."""

    xs: np.ndarray
    diverged: Diverged | None = None

    @property
    def message(self) -> str:
        return "" if self.diverged is None else f"diverged at step {self.diverged.step}"


def trace(rule, grad_fn, x0, steps: int) -> Path:
    """Run ``rule`` and keep the path even if it diverges."""
    try:
        return Path(run(rule, grad_fn, x0, steps))
    except Diverged as error:
        return Path(error.path, error)


def lowest_value(problem) -> float | None:
    """The least value of a problem (at its minima), or None if it has none."""
    if not problem.minima:
        return None
    return min(float(problem.value(np.array(m))) for m in problem.minima)


@lru_cache(maxsize=16)
def contour_grid(problem, resolution: int = 120):
    """X, Y and the values to contour: f, or log10 of f's gap for steep valleys."""
    (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution))
    Z = problem.value(np.array([X, Y]))
    if problem.log_contours:
        Z = np.log10(Z - lowest_value(problem) + 1e-2)
    return X, Y, Z


def draw_problem(ax, problem, resolution: int = 120) -> list:
    """A problem's contours, its minima as stars, limits, labels and title on ``ax``."""
    X, Y, Z = contour_grid(problem, resolution)
    levels = np.linspace(Z.min(), np.quantile(Z, 0.95), 14)
    filled = ax.contourf(X, Y, Z, levels=levels, cmap="Greys_r", alpha=0.35, extend="max")
    lines = ax.contour(X, Y, Z, levels=levels, colors="0.55", linewidths=0.5)
    marks = [ax.plot(*m, marker="*", ms=11, color="0.15", ls="none")[0] for m in problem.minima]
    (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
    ax.set(xlim=(x_lo, x_hi), ylim=(y_lo, y_hi), xlabel="x₁", ylabel="x₂")
    ax.set_title(problem.name)
    return [filled, lines, *marks]


def draw_path(ax, label: str, path: Path, index: int = 0, markers: bool = True) -> list:
    """A run's path on contour axes, with its start marked; returns the artists."""
    kw = style(label, index)
    (line,) = ax.plot(
        path.xs[:, 0], path.xs[:, 1], marker="o" if markers else None, ms=2.5, label=label, **kw
    )
    (start,) = ax.plot(*path.xs[0], marker="o", ms=6, color=kw["color"], mfc="white")
    return [line, start]


class LiveFigure:
    """A figure whose static parts are drawn once and kept as pixels.

    Artists passed to :meth:`animate` (lines, notes, or whole axes) are left out
    of that drawing and drawn over the kept pixels on every render, which is
    what makes a slider responsive: text and ticks cost most of a full draw.
    Call :meth:`invalidate` when anything static changes (limits, titles).
    """

    def __init__(self, figure: Figure):
        self.figure = figure
        FigureCanvasAgg(figure)
        self.dynamic: list = []
        self._pixels = None

    def animate(self, *artists) -> None:
        for artist in artists:
            artist.set_animated(True)
            self.dynamic.append(artist)

    def forget(self, artist) -> None:
        """Remove a dynamic artist from the figure."""
        self.dynamic.remove(artist)
        artist.remove()

    def steps_shown(self, axes, steps: int) -> None:
        """Show steps 0..``steps`` on the x-axis of ``axes``, drawing the static
        parts again only when that range changes."""
        if getattr(self, "_steps", None) != steps:
            self._steps = steps
            for ax in axes:
                ax.set_xlim(0, steps)
            self.invalidate()

    def invalidate(self, layout: bool = False) -> None:
        self._pixels = None
        if layout:
            relayout(self.figure)

    def png(self) -> bytes:
        canvas = self.figure.canvas
        if self._pixels is None:
            canvas.draw()  # everything that is not animated
            self.figure.set_layout_engine("none")
            self._pixels = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._pixels)
        for artist in self.dynamic:
            self.figure.draw_artist(artist)
        return _encode(canvas)


class PathFigure:
    """Contours of a problem with paths drawn over them, and optionally the loss.

    ``show_problem`` draws the contour background (only when the problem
    changes); ``set_paths`` replaces the paths and the loss curves and writes
    "diverged at step N" on the figure for any run that diverged. Rendering
    goes through :class:`LiveFigure`: the contours, axes and labels are drawn
    once; an update draws only the paths and the loss panel over them.
    """

    def __init__(self, with_loss: bool = True, width: float = 9.0, height: float = 3.8):
        if with_loss:
            figure, (self.ax, self.loss_ax) = new_figure(
                width, height, ncols=2, width_ratios=[1.25, 1]
            )
        else:
            figure, (self.ax,) = new_figure(width * 0.6, height)
            self.loss_ax = None
        self.live = LiveFigure(figure)
        if self.loss_ax is not None:
            self.live.animate(self.loss_ax)  # its limits follow the data: redrawn whole
        self.figure = figure
        self.problem = None
        self._artists = []  # the paths and notes on the contour panel
        self._background = []  # the contour panel's artists

    def show_problem(self, problem, resolution: int = 120) -> None:
        if problem is self.problem:
            return
        for artist in self._background:
            artist.remove()
        self.problem = problem
        self.live.invalidate()  # the first layout serves every problem: same panels
        self._background = draw_problem(self.ax, problem, resolution)
        if self.loss_ax is not None:
            # The quantity goes in the title: a y-label would be placed against the
            # first problem's tick labels and could overlap another's.
            self.loss_ax.set(xlabel="step t", yscale="log")
            plain_log_ticks(self.loss_ax.yaxis)
            self.loss_ax.set_title("loss above its minimum, f(x_t) − f*")

    def set_paths(self, paths: dict[str, Path]) -> None:
        for artist in self._artists:
            self.live.forget(artist)
        if self.loss_ax is not None:
            for artist in [*self.loss_ax.lines, *self.loss_ax.texts]:
                artist.remove()
        self._artists = []
        messages = []
        f_star = lowest_value(self.problem)
        for i, (label, path) in enumerate(paths.items()):
            kw = style(label, i)
            xs = path.xs
            self._artists += draw_path(self.ax, label, path, i)
            if path.diverged is not None:
                messages.append(f"{label}: {path.message}")
            if self.loss_ax is not None and f_star is not None:
                gap = np.maximum(self.problem.value(xs.T) - f_star, 1e-16)
                self.loss_ax.plot(np.arange(len(xs)), gap, label=label, **kw)
        if messages:
            note = self.ax.text(
                0.02,
                0.02,
                "\n".join(messages),
                transform=self.ax.transAxes,
                color=VERMILLION,
                fontsize=10,
                fontweight="bold",
                va="bottom",
                bbox={"facecolor": "white", "edgecolor": VERMILLION, "alpha": 0.9},
            )
            self._artists.append(note)
        if paths and self.loss_ax is not None:
            self.loss_ax.legend(loc="upper right")
            self.loss_ax.relim()
            self.loss_ax.autoscale_view()
        elif paths:
            self._artists.append(self.ax.legend(loc="upper right"))
        self.live.animate(*self._artists)

    def png(self) -> bytes:
        return self.live.png()
