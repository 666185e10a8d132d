"""HTML sanitising as the real services do it for note and message bodies.

Odoo 17 passes every ``html`` field through ``html_sanitize`` (lxml Cleaner: ``<script>``,
``<style>`` and event-handler attributes go, ``javascript:`` links are emptied); Pipedrive strips
scripts from note content. This is the part a migration can observe on read-back (what was sent
comes back without it), not a full sanitiser.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_LONE = re.compile(r"<(script|style)\b[^>]*/?>", re.I)
_HANDLER = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)
_JS_URL = re.compile(r"(href|src)\s*=\s*([\"'])\s*javascript:[^\"']*\2", re.I)


def sanitize(html: str) -> str:
    out = _BLOCK.sub("", html)
    out = _LONE.sub("", out)
    out = _HANDLER.sub("", out)
    return _JS_URL.sub(r'\1=\2\2', out)
