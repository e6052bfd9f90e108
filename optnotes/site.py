"""Sphinx extension: mends to the HTML pages that the browser test found.

* sphinx-thebe adds its inline configuration script twice to every page, and
  the second ``const THEBE_JS_URL`` is a script error ("Identifier
  'THEBE_JS_URL' has already been declared"). Each page keeps the first copy
  of any script listed twice.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # The same file, or the same inline body, with the same attributes
        # (sphinx-thebe's two copies differ only in a filename of None or "").
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {})
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept  # the builder restores its own list after each page


def setup(app):
    """Sphinx extension entry point."""
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
