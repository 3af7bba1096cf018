"""Sphinx extension: make every "[docs]" link of a source page land on its entry.

sphinx.ext.viewcode writes one source page per module, with a "[docs]" link
beside each documented object back to its entry in the API reference. It
builds every such link from one name per module, the name under which the
module's first object was documented. `bidirlib.layers.parallel_min_gru`
holds `ParallelMinGRU`, documented as `bidirlib.layers.ParallelMinGRU`, and
`prefix_affine_scan`, documented under its own module, so viewcode links the
latter to `api.html#bidirlib.layers.prefix_affine_scan`, an anchor that does
not exist. This rewrites such a link to the entry of the same object under
the module the page shows, when there is one. tests/site/test_site.py checks
that every internal link and anchor of the site resolves.
"""

import re

_BACKLINK = re.compile(r'(class="viewcode-back" href="[^"#]*#)([^"]+)(")')


def _fix_backlinks(app, pagename, templatename, context, doctree):
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    objects = app.env.get_domain("py").objects
    anchors = {entry.node_id for entry in objects.values()}
    module = pagename.removeprefix("_modules/").replace("/", ".")

    def fix(match):
        anchor = match.group(2)
        if anchor in anchors:
            return match.group(0)
        parts = anchor.split(".")
        for start in range(len(parts) - 1, 0, -1):  # the longest module prefix first
            candidate = objects.get(".".join([module, *parts[start:]]))
            if candidate is not None:
                return match.group(1) + candidate.node_id + match.group(3)
        return match.group(0)

    context["body"] = _BACKLINK.sub(fix, context["body"])


def setup(app):
    app.connect("html-page-context", _fix_backlinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
