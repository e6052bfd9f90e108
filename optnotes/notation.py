r"""The book's notation, defined once.

``MACROS`` is the single table of LaTeX macros the chapters use. This module is
also a Sphinx extension (listed in ``_config.yml``): it hands the same table to
MathJax for the web pages (``mathjax3_config``) and to LaTeX for the PDF
(``latex_elements['preamble']``), and the notation page prints it. Importing
it needs nothing beyond the standard library.
"""

from __future__ import annotations

from typing import NamedTuple


class Macro(NamedTuple):
    name: str  # without the backslash
    body: str  # LaTeX, with #1, #2 for arguments
    args: int
    meaning: str
    code: str  # how optnotes spells it ("" if nowhere)


MACROS = (
    Macro("lr", r"\alpha", 0, "learning rate (step size)", "lr, alpha"),
    Macro("mom", r"\mu", 0, "momentum coefficient", "mu"),
    Macro("grad", r"\nabla f(#1)", 1, "gradient of the loss at a point", "grad_fn(x), g"),
    Macro("hess", r"H", 0, "Hessian of a quadratic", "problem.hessian"),
    Macro("cond", r"\kappa", 0, r"condition number $\lambda_{\max}/\lambda_{\min}$", "kappa"),
    Macro("R", r"\mathbb{R}", 0, "the real numbers", ""),
    Macro("E", r"\mathbb{E}", 0, "expectation", ""),
    Macro("norm", r"\lVert #1 \rVert", 1, "Euclidean norm", "np.linalg.norm"),
    Macro("sign", r"\operatorname{sign}", 0, "sign of a number, elementwise", "np.sign"),
    Macro("diag", r"\operatorname{diag}", 0, "diagonal matrix", "np.diag"),
    Macro("argmin", r"\operatorname*{arg\,min}", 0, "minimiser", ""),
)

SYMBOLS = (
    ("x", "parameters (a vector)", "x"),
    (r"g = \grad{x}", "gradient at the current point", "g"),
    ("t", "step count, 0 on the first step", "state.t"),
    ("u", "velocity of the momentum methods", "state.u"),
    (
        "r, s",
        "accumulated squared gradients (a sum in Adagrad, a running average in RMSProp "
        "and Adadelta) and squared steps (Adadelta)",
        "state.r, state.s",
    ),
    ("m, v", "first and second moment estimates (Adam)", "state.m, state.v"),
    (r"\beta_1, \beta_2", "decay rates of m and v", "beta1, beta2"),
    (r"\rho", "decay rate of a running average", "rho"),
    (r"\epsilon", "small constant that keeps a division finite", "eps"),
    (r"\lambda_i", "eigenvalues (curvatures) of a quadratic", "problem.eigenvalues"),
)


def mathjax_macros() -> dict:
    """The table in MathJax 3's form: ``{name: body}`` or ``{name: [body, args]}``."""
    return {m.name: [m.body, m.args] if m.args else m.body for m in MACROS}


def latex_preamble() -> str:
    r"""The table as LaTeX definitions for the PDF.

    Each macro is provided (if nothing defines it) and then redefined, so the
    book's meaning wins over a class or package that defines the same name
    (Jupyter Book's LaTeX class defines ``\argmin``; some setups ``\E``, ``\R``).
    """
    lines = []
    for m in MACROS:
        args = f"[{m.args}]" if m.args else ""
        lines.append(
            rf"\providecommand{{\{m.name}}}{{}}\renewcommand{{\{m.name}}}{args}{{{m.body}}}"
        )
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The notation page's tables, in Markdown with math."""
    rows = ["| written | LaTeX | meaning | in optnotes |", "|---|---|---|---|"]
    for m in MACROS:
        written = "\\" + m.name + ("{x}" if m.args else "")
        code = f"`{m.code}`" if m.code else ""
        rows.append(f"| ${written}$ | `\\{m.name}` | {m.meaning} | {code} |")
    symbols = ["| symbol | meaning | in optnotes |", "|---|---|---|"]
    symbols += [f"| ${s}$ | {meaning} | `{code}` |" for s, meaning, code in SYMBOLS]
    return "\n".join(symbols) + "\n\nMacros:\n\n" + "\n".join(rows)


def _configure(app, config) -> None:
    mathjax = dict(config.mathjax3_config or {})
    tex = dict(mathjax.get("tex", {}))
    tex["macros"] = {**tex.get("macros", {}), **mathjax_macros()}
    mathjax["tex"] = tex
    config.mathjax3_config = mathjax
    latex_elements = dict(config.latex_elements or {})
    latex_elements["preamble"] = latex_elements.get("preamble", "") + latex_preamble()
    config.latex_elements = latex_elements


def setup(app):
    """Sphinx extension entry point."""
    app.connect("config-inited", _configure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
