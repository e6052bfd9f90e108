"""The book's experiments, driven headlessly; the controls; the display outputs."""

import itertools

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from matplotlib.figure import Figure

from optnotes import experiments, plots
from optnotes import widgets as w

PNG = b"\x89PNG\r\n\x1a\n"


def figure_of(drawn) -> Figure:
    """The matplotlib figure behind what an experiment's draw returned."""
    return getattr(drawn, "figure", drawn)


def extreme_settings(experiment, most: int = 81) -> list[tuple]:
    """Combinations of the controls' extremes: all of them when there are at most
    ``most``; otherwise every control through its extremes with the others at their
    defaults, and a seeded sample of ``most`` full combinations."""
    keys = list(experiment.controls)
    grid = list(itertools.product(*(experiment.controls[k].extremes() for k in keys)))
    if len(grid) <= most:
        return grid
    defaults = [experiment.controls[k].default for k in keys]
    one_at_a_time = [
        tuple(value if j == i else defaults[j] for j in range(len(keys)))
        for i, k in enumerate(keys)
        for value in experiment.controls[k].extremes()
    ]
    rng = np.random.default_rng(0)
    sample = [grid[i] for i in rng.choice(len(grid), size=most, replace=False)]
    return one_at_a_time + sample


@pytest.mark.parametrize("name", sorted(experiments.REGISTRY))
def test_experiment_survives_its_control_extremes(name):
    experiment = experiments.make(name)
    keys = list(experiment.controls)
    sizes = set()
    for values in extreme_settings(experiment):
        drawn = experiment.update(**dict(zip(keys, values, strict=True)))
        assert isinstance(figure_of(drawn), Figure)
        assert experiment.png.startswith(PNG)
        sizes.add(len(experiment.png))
    assert len(sizes) > 1  # the figure changes with the controls


def test_divergence_is_written_on_the_figure():
    experiment = experiments.make("gd-ravine")
    drawn = experiment.update(lr=3.0)
    texts = [t.get_text() for t in drawn.ax.texts]
    assert any(text.startswith("SGD: diverged at step") for text in texts), texts
    drawn = experiment.update(lr=0.5)
    assert not any("diverged" in t.get_text() for t in drawn.ax.texts)


def test_update_redraws_only_what_changed():
    experiment = experiments.make("momentum-ravine")
    view = experiment.update()
    background = view._background[0]
    experiment.update(lr=0.1, mu=0.5)
    assert view._background[0] is background  # contours kept
    assert view.live._pixels is not None  # the static pixels reused


def test_the_figure_follows_the_controls():
    experiment = experiments.make("momentum-ravine")
    view = experiment.update(steps=10)
    line = view.ax.lines[-2]  # the Momentum path (then its start marker)
    assert len(line.get_xdata()) == 11
    view = experiment.update(steps=25)
    assert len(view.ax.lines[-2].get_xdata()) == 26


def test_bad_control_values_are_refused():
    experiment = experiments.make("nesterov-vs-momentum")
    with pytest.raises(ValueError, match=r"lr must lie in \[0.0001, 3\], got 10"):
        experiment.update(lr=10)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        experiment.update(steps=0)
    with pytest.raises(ValueError, match="steps must be at most 300, got 301"):
        experiment.update(steps=301)
    with pytest.raises(
        ValueError, match=r"problem must be one of \['ravine', 'Rosenbrock', 'Beale'\]"
    ):
        experiment.update(problem="saddle")
    with pytest.raises(ValueError, match="nesterov-vs-momentum has no control 'beta'"):
        experiment.update(beta=0.9)
    with pytest.raises(ValueError, match="no experiment named 'nope'"):
        experiments.make("nope")
    rules = w.rules()
    with pytest.raises(ValueError, match="rules must be a non-empty selection"):
        rules.check("rules", ())
    with pytest.raises(ValueError, match="rules must be a non-empty selection"):
        rules.check("rules", ("SGD", "Adamm"))


@pytest.fixture
def shell():
    return InteractiveShell.instance()


def test_show_puts_controls_and_an_image_in_the_cell(shell):
    experiment = experiments.make("gd-ravine")
    with capture_output() as captured:
        experiment.show()
    controls, figure = captured.outputs
    assert "application/vnd.jupyter.widget-view+json" in controls.data
    assert controls.data["text/html"].startswith('<p class="optnotes-controls">')
    assert "learning rate α = 1.6" in controls.data["text/plain"]
    assert figure.data["image/png"]  # an ordinary image output: the static page shows it
    assert figure.metadata == {} or "image/png" in figure.data


def test_moving_a_slider_redraws_the_same_output(shell):
    experiment = experiments.make("gd-ravine")
    with capture_output():
        experiment.show()
    before = experiment.png
    published = []
    original = shell.display_pub.publish

    def record(data, metadata=None, **kwargs):
        published.append((data, kwargs))
        return original(data, metadata, **kwargs)

    shell.display_pub.publish = record
    try:
        experiment.widgets["lr"].value = 0.5
    finally:
        shell.display_pub.publish = original
    assert experiment.values["lr"] == pytest.approx(0.5)
    assert experiment.png != before
    updates = [kw for _, kw in published if kw.get("update")]
    assert updates and updates[-1]["transient"]["display_id"]


def test_controls_map_to_widgets_with_their_ranges():
    lr = w.lr(0.3, 1e-3, 3.0).widget(0.3)
    assert lr.min == pytest.approx(-3) and lr.max == pytest.approx(np.log10(3.0))
    assert not lr.continuous_update
    steps = w.steps(50, 1, 300).widget(50)
    assert (steps.min, steps.max, steps.value) == (1, 300, 50)
    problem = w.problem().widget("ravine")
    assert "Rosenbrock" in problem.options
    rules = w.rules().widget(("SGD",))
    assert rules.value == ("SGD",)


def test_every_rule_keeps_one_style():
    assert plots.style("Adam") == plots.style("Adam (β₁ = 0.9)")
    assert plots.style("RMSPropNesterov, α(1 − β₁)") == plots.style("RMSPropNesterov")
    assert plots.style("Adam")["color"] != plots.style("AMSGrad")["color"]
    assert plots.style("Momentum") != plots.style("Nesterov")
    assert plots.style("batch of 4", 1)["color"] == plots.EXTRA_COLOURS[1]
    assert len(set(plots.STYLE.values())) == len(plots.STYLE)  # no two rules alike
    assert plots.style("Lion (λ = 0.1)") == plots.style("Lion") != plots.style("AdamW")
    assert plots.style("signSGD") == plots.style("SignSGD") != plots.style("SGD")


def test_prefixes_cut_the_longest_run_and_run_once_per_key():
    """A shorter run is the start of a longer one: cut from it, it is what a
    fresh run of that length gives (AdamCounterexample, run directly here)."""
    from optnotes import problems, rules

    calls = []

    def run(C, steps):
        calls.append((C, steps))
        problem = problems.AdamCounterexample(C)
        return problem.run(rules.Adam(lr=0.1, beta1=0.0, beta2=problem.beta2), steps)

    runs = experiments.Prefixes(run, keep=2)
    long = runs((3.0,), 300)
    short = runs((3.0,), 40)
    assert calls == [(3.0, 300)] and len(long) == 301 and len(short) == 41
    fresh = problems.AdamCounterexample(3.0)
    expected = fresh.run(rules.Adam(lr=0.1, beta1=0.0, beta2=fresh.beta2), 40)
    np.testing.assert_array_equal(short, expected)
    runs((3.0,), 500)  # longer than kept: run again
    runs((4.0,), 10)
    runs((5.0,), 10)  # a third key: the oldest (3.0) goes
    runs((3.0,), 10)
    assert calls == [(3.0, 300), (3.0, 500), (4.0, 10), (5.0, 10), (3.0, 10)]


def test_frames_come_in_grid_order_whatever_order_they_are_drawn_in():
    """``frames`` draws from the last grid point back, yields in grid order,
    and leaves the experiment at its defaults; each frame is ``update``'s PNG."""
    experiment = experiments.make("nesterov-vs-momentum")  # two numeric sliders
    experiment.update()
    grid = experiment.grid()
    assert len(grid) == 2
    frames = list(experiment.frames())
    assert [tuple(v.values()) for v, _ in frames] == list(itertools.product(*grid.values()))
    defaults = {key: c.default for key, c in experiment.controls.items()}
    assert experiment.values == defaults
    fresh = experiments.make("nesterov-vs-momentum")
    fresh.update()  # laid out at its defaults first, as the page (plots.png)
    for i in (0, 13, len(frames) - 1):
        values, png = frames[i]
        fresh.update(**values)
        assert fresh.png == png, values
