"""The notation table reaches MathJax and LaTeX; the book shows code from the package."""

import inspect
from types import SimpleNamespace

import optnotes as on
from optnotes import display, notation


def test_macros_reach_mathjax_and_latex_merged_with_existing_settings():
    config = SimpleNamespace(
        mathjax3_config={"options": {"x": 1}, "tex": {"macros": {"old": "1"}}},
        latex_elements={"preamble": r"\usepackage{amsmath}" + "\n", "papersize": "a4paper"},
    )
    notation._configure(None, config)
    macros = config.mathjax3_config["tex"]["macros"]
    assert macros["old"] == "1" and config.mathjax3_config["options"] == {"x": 1}
    assert macros["lr"] == r"\alpha"
    assert macros["grad"] == [r"\nabla f(#1)", 1]
    preamble = config.latex_elements["preamble"]
    assert preamble.startswith(r"\usepackage{amsmath}")
    assert r"\renewcommand{\lr}{\alpha}" in preamble
    assert r"\renewcommand{\grad}[1]{\nabla f(#1)}" in preamble
    assert config.latex_elements["papersize"] == "a4paper"
    assert {m.name for m in notation.MACROS} == set(macros) - {"old"}


def test_notation_page_lists_every_macro():
    table = notation.markdown_table()
    for m in notation.MACROS:
        assert f"`\\{m.name}`" in table


def test_rule_display_takes_equation_and_code_from_the_package():
    out = display.rule(on.Adam)
    bundle = out._repr_mimebundle_()
    assert set(bundle) == {"text/markdown", "text/html", "text/plain"}
    assert display.equation(on.Adam) in bundle["text/markdown"]
    assert r"\hat m &= m / (1 - \beta_1^{t+1})" in display.equation(on.Adam)
    code = inspect.getsource(on.Adam.step)
    for line in code.splitlines()[1:]:
        assert line.strip() in bundle["text/markdown"]
    markdown = bundle["text/markdown"]
    assert markdown.index("$$") < markdown.index("```python")  # equation, then code


def test_every_rule_has_an_equation_and_a_paper():
    for Rule in on.ALL_RULES:
        assert display.equation(Rule)
        assert any(ch.isdigit() for ch in display.paper(Rule)), Rule.__name__


def test_markdown_output_has_no_html_form():
    assert set(display.markdown("| a |\n|---|")._repr_mimebundle_()) == {
        "text/markdown",
        "text/plain",
    }
