"""Sphinx extension: write each inline ``<script>`` into a page only once.

Sphinx 7.4 keeps two copies of an inline script that an extension adds
after the builder is set up (``app.add_js_file(None, body=...)``): the
builder's copy has the file name ``None`` and the copy it re-adds from the
registry when it starts writing has ``''``, so the two do not compare
equal. sphinx-thebe adds one such script, ``const THEBE_JS_URL = ...``,
and a browser refuses the second ``const`` with "Identifier 'THEBE_JS_URL'
has already been declared" on every page. This drops the repeat, treating
``None`` and ``''`` as the same (no) file name. tests/site/test_site.py checks
that no page of the site raises an error in a real browser.
"""


def _key(script):
    filename = getattr(script, "filename", script)
    attributes = getattr(script, "attributes", {})
    priority = getattr(script, "priority", 500)
    return (filename or "", priority, tuple(sorted(attributes.items())))


def _drop_repeated_inline_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key[0] == "" and key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _drop_repeated_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
