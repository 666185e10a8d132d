"""HTML sanitising as the real services do it for note and message bodies.

Odoo 17 passes every ``html`` field through ``html_sanitize`` (``odoo/tools/mail.py``: an lxml
Cleaner with ``kill_tags`` base, embed, frame, head, iframe, link, meta, noscript, object, script,
style, title — removed with their content —, ``remove_tags`` html, body — unwrapped —, and
lxml's ``javascript=True``: ``on*`` handlers go, ``javascript:`` links are emptied). Pipedrive
strips scripts from note content (NOTES 5: "HTML, sanitised server-side"); nothing more is
documented, so only ``<script>``/``<style>``, handlers and ``javascript:`` links go there.
This is the part a migration can observe on read-back (what was sent comes back without it),
not a full sanitiser.
"""

from __future__ import annotations

import re

#: Pipedrive (what its documents let us say)
SCRIPTS = ("script", "style")
#: Odoo 17 ``tools/mail.py`` ``tags_to_kill``
ODOO_KILL = ("base", "embed", "frame", "head", "iframe", "link", "meta", "noscript", "object",
             "script", "style", "title")
ODOO_UNWRAP = ("html", "body")
_HANDLER = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)
_JS_URL = re.compile(r"(href|src)\s*=\s*([\"'])\s*javascript:[^\"']*\2", re.I)


def _alt(tags: tuple[str, ...]) -> str:
    return "|".join(re.escape(t) for t in tags)


def sanitize(html: str, kill: tuple[str, ...] = SCRIPTS, unwrap: tuple[str, ...] = ()) -> str:
    out = re.sub(rf"<({_alt(kill)})\b[^>]*>.*?</\1\s*>", "", html, flags=re.I | re.S)
    out = re.sub(rf"</?({_alt(kill)})\b[^>]*/?>", "", out, flags=re.I)
    if unwrap:
        out = re.sub(rf"</?({_alt(unwrap)})\b[^>]*>", "", out, flags=re.I)
    out = _HANDLER.sub("", out)
    return _JS_URL.sub(r'\1=\2\2', out)


def odoo_sanitize(html: str) -> str:
    return sanitize(html, ODOO_KILL, ODOO_UNWRAP)
