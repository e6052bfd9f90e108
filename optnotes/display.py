r"""Showing the package in the book: a rule's equation over its code, and math.

``rule(Adam)`` takes the equation from the rule's docstring and the code from
its ``step`` method, both read from the package, and shows the code right
under the equation, line for line.
The output carries two forms: MyST Markdown (a two-column grid) that the
book's pages render, and HTML that Jupyter renders on Binder.
"""

from __future__ import annotations

import html
import inspect
import re
import textwrap


def equation(Rule) -> str:
    """The display equation (between ``$$``) in a rule's docstring."""
    match = re.search(r"\$\$(.*?)\$\$", inspect.getdoc(Rule) or "", flags=re.DOTALL)
    if match is None:
        raise ValueError(f"{Rule.__name__}'s docstring has no $$ ... $$ equation")
    return textwrap.dedent(match.group(1)).strip()


def source(function) -> str:
    """The source of a function, dedented, without its docstring."""
    code = textwrap.dedent(inspect.getsource(function))
    return re.sub(r'\n\s+r?"""(.|\n)*?"""\n', "\n", code, count=1)


def paper(Rule) -> str:
    """The first line of a rule's docstring: its name and the paper it comes from."""
    return (inspect.getdoc(Rule) or "").splitlines()[0]


class Output:
    """A cell output with a MyST Markdown form (the book) and an HTML form (Jupyter)."""

    def __init__(self, markdown: str, html_text: str, plain: str):
        self.markdown, self.html, self.plain = markdown, html_text, plain

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/markdown": self.markdown, "text/html": self.html, "text/plain": self.plain}
        return {mime: data for mime, data in bundle.items() if data}


def code(function) -> Output:
    """The source of a function from the package, shown as code."""
    text = source(function)
    return Output(f"```python\n{text}```\n", f"<pre>{html.escape(text)}</pre>", text)


def schedule(Schedule) -> Output:
    """A schedule's equation and, right below it, the code of its ``__call__``."""
    return rule(Schedule, method="__call__")


def rule(Rule, method: str | None = "step") -> Output:
    """The equation of ``Rule`` and, right below it, the code of ``Rule.step``
    (of ``Rule`` itself with ``method=None``: a function with an equation).

    Stacked, not in two columns: the code's lines are up to 80 characters, and
    in half the page's text column they would be cut off.
    """
    eq = equation(Rule)
    code = source(getattr(Rule, method) if method else Rule)
    markdown = f"**{paper(Rule)}**\n\n$$\n{eq}\n$$\n\n```python\n{code}```\n"
    page = (
        f"<div><b>{html.escape(paper(Rule))}</b><p>$${html.escape(eq)}$$</p>"
        f"<pre>{html.escape(code)}</pre></div>"
    )
    return Output(markdown, page, f"{paper(Rule)}\n\n{eq}\n\n{code}")


def markdown(text: str) -> Output:
    """Plain Markdown (a table, say), which Jupyter and the book both render."""
    return Output(text, "", text)


def math(latex: str) -> Output:
    """Display math computed by the package (a derivation's LaTeX)."""
    return Output(f"$$\n{latex}\n$$\n", f"$${html.escape(latex)}$$", latex)


def glue_derivation(prefix: str, derivation, display: bool = False) -> None:
    """Glue every step of a derivation for the chapter's text.

    ``{glue:math}`prefix-key``` shows step ``key`` as "lhs = result";
    ``{glue:math}`prefix``` shows the whole derivation, aligned. The text can
    then sit inside theorem and proof blocks while every formula is computed.
    """
    from IPython.display import Math

    _glue(prefix, Math(derivation.latex()), display=display)
    for key in derivation.steps:
        _glue(f"{prefix}-{key}", Math(derivation.latex(key)), display=False)


def glue_numbers(prefix: str = "", **numbers) -> None:
    """Glue numbers for ``{glue:text}`name:.3f``` in the text (no output in the cell)."""
    for name, value in numbers.items():
        # numpy scalars print as "np.float64(...)", which the text cannot format
        _glue(f"{prefix}{name}", float(value), display=False)


def _glue(name: str, value, display: bool) -> None:
    """MyST-NB's glue; without MyST-NB (JupyterLite's Pyodide kernel), a
    displayed value is shown and the rest dropped: only the book's text reads them."""
    try:
        from myst_nb import glue
    except ModuleNotFoundError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    glue(name, value, display=display)
