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
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from . import _checks, plots

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
    values: dict = field(default_factory=dict)
    png: bytes = b""

    def __post_init__(self):
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
        bundle["text/plain"] = text
        bundle["text/html"] = f'<p class="optnotes-controls">{html.escape(text)}</p>'
        return bundle

    def show(self) -> None:
        """Display the controls and the figure for the current values."""
        from IPython.display import display

        self.update()
        display(self._controls_output(), raw=True)
        self._handle = display(self._image(), display_id=True)
