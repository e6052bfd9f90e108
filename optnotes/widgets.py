"""Experiments the reader drives with sliders, visible without a kernel.

An :class:`Experiment` is declared by its controls and a function from their
values to a figure. ``experiment.show()`` puts two ordinary outputs in the
cell:

1. the controls, as a widget in Jupyter and Binder and, on the static web page
   and in the PDF, as a line saying what the figure shows ("learning rate
   α = 0.3, steps = 50");
2. the figure for those values, as a PNG image: the static page shows it.

Moving a control calls :meth:`Experiment.update`, which redraws the figure and
replaces that same image output in place (a display handle). Tests and
benchmarks call ``update(**values)`` directly, with no browser.

In the book build (the Sphinx extension :mod:`optnotes.static_sliders` sets
``OPTNOTES_FRAMES``), ``show()`` puts instead sliders that work on the static
page with no kernel: the figure is precomputed for every point of a grid of the
experiment's ``static`` controls (:meth:`Control.grid`), each frame written as
a PNG file named by its content, and a ``SelectionSlider`` per control is
linked in the browser (``jslink``) to a ``Stack`` of ``Image`` widgets that
point at those files. The widget state is saved with the executed notebook and
rendered by ``@jupyter-widgets/html-manager``; the other controls stay at
their defaults, and the line above the figure says so.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import math
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _checks, plots

FRAMES_ENV = "OPTNOTES_FRAMES"
"""The folder the book build's kernels write the static sliders' frames into."""
SITE_ROOT_ENV = "OPTNOTES_SITE_ROOT"
"""The book's source folder: frame URLs are relative to it, as the site is."""
FRAMES_URL = "_frames"
"""Where the frames are served, under the site's root."""
PRINTED_WIDTH = 78  # a text line in the PDF, as the chapters' printed output
GRID_POINTS = 10
"""Values of a numeric control on the static page (its default among them)."""
GRID_POINTS_2D = 6
"""Values of each control when two move on the static page: 6 × 6 frames, not
10 × 10, a third of the build's rendering for the two-slider experiments."""

# --- Controls --------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    """One control: its label, default, range (or options), and kind.

    Kinds: ``"float"`` (a linear slider), ``"log"`` (a slider on a log scale),
    ``"int"``, ``"choice"`` (one of ``options``) and ``"multi"`` (a tuple of
    some of ``options``).
    """

    label: str
    default: object
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    options: tuple = ()
    step: float | None = None

    def check(self, name: str, value):
        """Return ``value`` if the control can take it; raise ``ValueError`` naming it if not."""
        if self.kind in ("float", "log"):
            return _checks.number(name, value, low=self.low, high=self.high)
        if self.kind == "int":
            value = _checks.whole(name, value, low=int(self.low))
            if value > self.high:
                raise ValueError(f"{name} must be at most {self.high:g}, got {value}")
            return value
        if self.kind == "choice":
            if value not in self.options:
                raise ValueError(f"{name} must be one of {list(self.options)}, got {value!r}")
            return value
        if self.kind == "multi":
            value = tuple(value)
            unknown = [v for v in value if v not in self.options]
            if unknown or not value:
                raise ValueError(
                    f"{name} must be a non-empty selection from {list(self.options)}, got {value!r}"
                )
            return value
        raise ValueError(f"unknown control kind {self.kind!r}")

    def extremes(self) -> list:
        """Values a test drives the experiment through: both ends and the default."""
        if self.kind in ("float", "log", "int"):
            return [self.low, self.default, self.high]
        if self.kind == "choice":
            return list(self.options)
        return [self.options, self.options[:1], self.default]

    def grid(self, points: int = GRID_POINTS) -> list:
        """The values a static slider offers: ``points`` values spread over the
        range (log-spaced for ``"log"``), rounded to 3 significant digits, with
        the default always among them; the options of a choice as they are."""
        if self.kind == "choice":
            return list(self.options)
        if self.kind == "multi":
            raise ValueError(f"a {self.label!r} selection has no static grid: keep it fixed")
        if self.kind == "int":
            values = np.unique(np.round(np.linspace(self.low, self.high, points)).astype(int))
            values = [int(v) for v in values]
        else:
            spread = np.geomspace if self.kind == "log" else np.linspace
            values = [float(f"{v:.3g}") for v in spread(self.low, self.high, points)]
        if self.default not in values:
            # The nearest inner value gives way to the default; the ends stay.
            scale = math.log if self.kind == "log" else float
            inner = range(1, len(values) - 1)
            nearest = min(inner, key=lambda i: abs(scale(values[i]) - scale(self.default)))
            values[nearest] = self.default
            values.sort()
        return values

    def label_of(self, value) -> str:
        """The value as the static slider's readout shows it."""
        return f"{value:g}" if isinstance(value, float) else str(value)  # 1000, 0.00207

    def describe(self, value) -> str:
        if self.kind == "multi":
            return f"{self.label}: {', '.join(value)}"
        if isinstance(value, float):
            return f"{self.label} = {value:.3g}"
        return f"{self.label} = {value}"

    def widget(self, value):
        import ipywidgets as w

        common = {"description": self.label, "style": {"description_width": "initial"}}
        slider = {**common, "continuous_update": False, "layout": w.Layout(width="420px")}
        if self.kind == "log":
            return w.FloatLogSlider(
                value=value,
                base=10,
                min=math.log10(self.low),
                max=math.log10(self.high),
                step=self.step or 0.02,
                readout_format=".3g",
                **slider,
            )
        if self.kind == "float":
            step = self.step or (self.high - self.low) / 100
            return w.FloatSlider(
                value=value, min=self.low, max=self.high, step=step, readout_format=".3g", **slider
            )
        if self.kind == "int":
            return w.IntSlider(
                value=value, min=self.low, max=self.high, step=self.step or 1, **slider
            )
        if self.kind == "choice":
            return w.Dropdown(value=value, options=list(self.options), **common)
        return w.SelectMultiple(
            value=tuple(value), options=list(self.options), rows=min(len(self.options), 7), **common
        )


def Float(label, default, low, high, step=None) -> Control:  # noqa: N802 - reads as a type
    return Control(label, float(default), "float", float(low), float(high), step=step)


def Log(label, default, low, high, step=None) -> Control:  # noqa: N802
    return Control(label, float(default), "log", float(low), float(high), step=step)


def Int(label, default, low, high, step=None) -> Control:  # noqa: N802
    return Control(label, int(default), "int", int(low), int(high), step=step)


def Choice(label, default, options) -> Control:  # noqa: N802
    return Control(label, default, "choice", options=tuple(options))


def Multi(label, default, options) -> Control:  # noqa: N802
    return Control(label, tuple(default), "multi", options=tuple(options))


# The slider set-ups the chapters share.


def lr(default=0.3, low=1e-3, high=3.0) -> Control:
    return Log("learning rate α", default, low, high)


def mu(default=0.9, low=0.0, high=0.99) -> Control:
    return Float("momentum μ", default, low, high, step=0.01)


def steps(default=50, low=1, high=300) -> Control:
    return Int("steps", default, low, high)


def kappa(default=20.0, low=1.0, high=200.0) -> Control:
    return Log("condition number κ", default, low, high)


def problem(default="ravine", options=("ravine", "Rosenbrock", "Beale", "saddle", "plateau")):
    return Choice("problem", default, options)


def rules(default=("SGD", "Momentum"), options=None) -> Control:
    from .rules import ALL_RULES

    return Multi("rules", default, options or tuple(r.__name__ for r in ALL_RULES))


# --- Experiments -----------------------------------------------------------------


@dataclass
class Experiment:
    """Controls and a ``draw(**values)`` function, shown as one cell's outputs.

    ``draw`` returns a matplotlib Figure, or a :class:`optnotes.plots.PathFigure`
    (which renders only what changed).
    """

    name: str
    controls: dict[str, Control]
    draw: Callable
    static: tuple = ()
    """The one or two controls the chapter asks the reader to move: on the static
    page, sliders over their grids; the other controls stay at their defaults."""
    values: dict = field(default_factory=dict)
    png: bytes = b""

    def __post_init__(self):
        if not self.static and len(self.controls) == 1:
            self.static = tuple(self.controls)
        unknown = [key for key in self.static if key not in self.controls]
        if unknown or not 1 <= len(self.static) <= 2 or len(set(self.static)) < len(self.static):
            raise ValueError(
                f"{self.name}: static must name one or two of its controls "
                f"{list(self.controls)}, got {self.static!r}"
            )
        self.values = {key: c.default for key, c in self.controls.items()}
        self.widgets = {}  # the controls' widgets, once shown
        self._handle = None

    def update(self, **changes):
        """Redraw with some controls changed; return what ``draw`` returned.

        Refreshes the image output in place when the experiment is shown.
        """
        unknown = sorted(set(changes) - set(self.controls))
        if unknown:
            raise ValueError(
                f"{self.name} has no control {unknown[0]!r}; its controls are {list(self.controls)}"
            )
        for key, value in changes.items():
            self.values[key] = self.controls[key].check(key, value)
        figure = self.draw(**self.values)
        self.png = plots.png(figure)
        if self._handle is not None:
            self._handle.update(self._image())
        return figure

    def summary(self) -> str:
        return ", ".join(c.describe(self.values[k]) for k, c in self.controls.items())

    def _image(self):
        from IPython.display import Image

        return Image(data=self.png, format="png", alt=f"{self.name}: {self.summary()}")

    def _controls_output(self):
        """The controls' widget, with a readable text for the static page and the PDF."""
        import ipywidgets as w

        self.widgets = {key: c.widget(self.values[key]) for key, c in self.controls.items()}

        def moved(change):
            self.update(**{key: box.value for key, box in self.widgets.items()})

        for box in self.widgets.values():
            box.observe(moved, names="value")
        widget = w.VBox(list(self.widgets.values()))
        bundle = widget._repr_mimebundle_()
        text = f"Controls (live in Jupyter or on Binder): {self.summary()}"
        bundle["text/plain"] = textwrap.fill(text, PRINTED_WIDTH)
        bundle["text/html"] = f'<p class="optnotes-controls">{html.escape(text)}</p>'
        return bundle

    def show(self) -> None:
        """Display the controls and the figure for the current values: live
        controls in Jupyter, precomputed sliders in the book build."""
        from IPython.display import display

        self.update()
        if os.environ.get(FRAMES_ENV):
            for output in self._static_outputs(Path(os.environ[FRAMES_ENV])):
                display(output, raw=True)
            return
        display(self._controls_output(), raw=True)
        self._handle = display(self._image(), display_id=True)

    # --- The static page ---------------------------------------------------------

    def grid(self) -> dict[str, list]:
        """The values of each static control, in the order of ``static``:
        ``GRID_POINTS`` for a single one, ``GRID_POINTS_2D`` each for two."""
        points = GRID_POINTS if len(self.static) == 1 else GRID_POINTS_2D
        return {key: self.controls[key].grid(points) for key in self.static}

    def frames(self):
        """Yield (values of the static controls, PNG) for every grid point, the
        first control outermost; the other controls at their defaults. Each PNG
        is what ``update(**values)`` renders.

        They are rendered from the last point back: grouped by the first control
        (a figure redraws its background, as a problem's contours, only when that
        changes), and the largest value of each first, so that a slider over the
        steps cuts its shorter runs from the longest (``experiments.Prefixes``)."""
        grid = self.grid()
        points = list(itertools.product(*grid.values()))
        rendered = {}
        for point in reversed(points):
            self.update(**dict(zip(grid, point, strict=True)))
            rendered[point] = self.png
        self.update(**{key: self.controls[key].default for key in self.static})
        for point in points:
            yield dict(zip(grid, point, strict=True)), rendered[point]

    def _static_outputs(self, folder: Path) -> list[dict]:
        """The line saying what moves and what is fixed, and the sliders over
        the frames, written into ``folder`` (the default figure as the PNG
        fallback, for the PDF)."""
        import ipywidgets as w

        default_png = self.png
        fixed = [
            c.describe(self.values[k]) for k, c in self.controls.items() if k not in self.static
        ]
        moving = ", ".join(self.controls[key].label for key in self.static)
        text = f"Sliders on this page: {moving} (figures precomputed)"
        text += f"; fixed: {'; '.join(fixed)}" if fixed else ""
        text += ". Every control is live in Jupyter or on Binder."
        # Paper has no sliders: the PDF shows the plain text, which says what its
        # (default) figure shows. (A text/latex line would be typeset as math.)
        printed = f"The figure for {self.summary()}. On the web page, sliders move {moving}"
        printed += f"; fixed: {'; '.join(fixed)}." if fixed else "."
        line = {
            "text/plain": textwrap.fill(printed, PRINTED_WIDTH),  # the PDF's lines
            "text/html": f'<p class="optnotes-controls">{html.escape(text)}</p>',
        }
        base = os.path.relpath(os.environ.get(SITE_ROOT_ENV, os.getcwd()), os.getcwd())
        folder.mkdir(parents=True, exist_ok=True)

        def frame(values: dict, png: bytes, css_class: str) -> str:
            url = Path(base, FRAMES_URL, _write_frame(folder, png)).as_posix()
            shown = {**self.values, **values}
            caption = ", ".join(c.describe(shown[k]) for k, c in self.controls.items())
            return _figure_html(url, png, caption, css_class)

        # Shown until the sliders are drawn, and where scripts do not run.
        line["text/html"] += frame({}, default_png, "optnotes-default")
        # One layout and one style for every frame: a widget's own would add
        # two models, 1.5 kB, to the page's widget state for each frame.
        from ipywidgets.widgets.widget_string import HTMLStyle

        layout, style = w.Layout(), HTMLStyle()
        images = [
            w.HTML(frame(values, png, "optnotes-frame"), layout=layout, style=style)
            for values, png in self.frames()
        ]
        sliders, rows = [], []
        for key, values in self.grid().items():
            control = self.controls[key]
            slider = w.SelectionSlider(
                options=[(control.label_of(v), i) for i, v in enumerate(values)],
                index=values.index(control.default),
                continuous_update=True,
                layout=w.Layout(width="320px"),
            )
            # The label as HTML, not the slider's description: the html-manager
            # typesets descriptions with MathJax 2's API, absent from MathJax 3.
            rows.append(w.HBox([w.HTML(html.escape(control.label)), slider]))
            sliders.append(slider)
        stack = _stacks(images, sliders)
        box = w.VBox([*rows, stack])
        box.add_class("optnotes-static")
        bundle = box._repr_mimebundle_()
        bundle["text/plain"] = f"{self.name}: {self.summary()}"
        bundle["image/png"] = base64.b64encode(default_png).decode("ascii")
        return [line, bundle]


def _figure_html(url: str, png: bytes, caption: str, css_class: str) -> str:
    """A frame as the static page shows it: the image, with its size (the page
    keeps its place while it loads) and its values as the text a screen reader
    reads, and a caption saying what it shows."""
    width, height = (int.from_bytes(png[i : i + 4], "big") for i in (16, 20))  # IHDR
    text = html.escape(caption)
    return (
        f'<figure class="{css_class}"><img src="{html.escape(url)}" alt="{text}" '
        f'width="{width}" height="{height}"><figcaption>{text}</figcaption></figure>'
    )


def _write_frame(folder: Path, png: bytes) -> str:
    """Write a frame under its content's hash (once); return its file name."""
    name = hashlib.sha256(png).hexdigest()[:24] + ".png"
    path = folder / name
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(png)
        partial.replace(path)  # kernels run side by side: never a half-written frame
    return name


def _stacks(images: list, sliders: list):
    """Images in row-major order as a Stack (one slider) or a Stack of Stacks
    (two), each Stack's selected index linked to its slider's in the browser."""
    import ipywidgets as w

    if len(sliders) == 1:
        inner = [images]
    else:
        per_row = len(sliders[1].options)
        inner = [images[i : i + per_row] for i in range(0, len(images), per_row)]
    rows = [w.Stack(row, selected_index=sliders[-1].index) for row in inner]
    for row in rows:
        w.jslink((sliders[-1], "index"), (row, "selected_index"))
    if len(sliders) == 1:
        return rows[0]
    outer = w.Stack(rows, selected_index=sliders[0].index)
    w.jslink((sliders[0], "index"), (outer, "selected_index"))
    return outer
