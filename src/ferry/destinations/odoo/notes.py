"""Where Odoo keeps an address's state or country it has no record of: the record's notes.

Odoo knows a state only as a row of its list (``res.country.state``), and its United Kingdom
rows are Royal Mail's former postal counties (``ferry.model.regions``): a county a practice
writes today (``Greater Manchester``, ``Bristol``, ``Highland``, ``Pembrokeshire``) is none of
them, and nothing may be guessed in its place. Left empty, the county would be gone from the
contact as the clinic sees it. It is kept as written, and the field is still listed (skip file,
stage ``load-kept``). Where:

* not ``street2``: Odoo prints it as an address line above the city (its UK address format is
  street, street2, city, state, zip, country: odoo's ``base/data/res_country_data.xml``), where
  a county does not belong (Royal Mail: a county is no part of a postal address since 1996),
  and it holds the flat or building the practice wrote there;
* not a custom ``x_`` field: ``prepare`` adds no view, so Odoo's contact form would not show it;
* the record's notes: ``res.partner.comment`` (the contact form's Internal Notes tab),
  ``crm.lead.description`` (the lead's Internal Notes): where staff look, searchable, never
  printed as part of an address. One labelled paragraph per field (``State or county as
  exported (Odoo lists no such state): Greater Manchester``), after the map's own notes when
  the map writes them. An update replaces Ferry's paragraph and keeps everything else (staff's
  notes); a state that now resolves takes its paragraph away.

``holds`` is what the sample checks: the notes it read back hold the text.
"""

from __future__ import annotations

import html
import re
from typing import Any

#: the model's notes field, where a state or country it cannot take is kept
KEEPERS = {"res.partner": "comment", "crm.lead": "description"}
#: the fields whose unresolved text is kept there
KEPT_FIELDS = ("state_id", "country_id")
LABELS = {"state_id": "State or county as exported (Odoo lists no such state)",
          "country_id": "Country as exported (Odoo lists no such country)"}
#: the reason's end (the skip file, the diff): where the text went, never the text
WHERE = "kept as written in the record's notes"
_OURS = re.compile("|".join(r"<p>\s*" + re.escape(label) + r":[^<]*</p>"
                            for label in LABELS.values()))
_TAG = re.compile(r"<[^>]+>")


def keeper(model: str, meta: dict[str, Any]) -> str | None:
    """The notes field of ``model`` when its metadata (``fields_get``) has it."""
    name = KEEPERS.get(model)
    return name if name and name in meta else None


def paragraph(key: str, text: str) -> str:
    return f"<p>{LABELS[key]}: {html.escape(text.strip(), quote=False)}</p>"


def without_ours(notes: Any) -> str:
    """``notes`` (html, or False) without Ferry's kept-text paragraphs."""
    if not isinstance(notes, str):
        return ""
    bare = plain(notes)
    if any(bare.startswith(label + ":") for label in LABELS.values()) and "<p>" not in notes:
        return ""  # one paragraph of ours, read back without its <p> (``shape.from_odoo``)
    return _OURS.sub("", notes).strip()


def compose(base: Any, kept: list[tuple[str, str]]) -> str | bool:
    """``base`` (the map's or staff's notes, without Ferry's paragraphs) and a paragraph for
    each kept (field, text); ``False`` (Odoo's empty) when there is nothing."""
    text = base.strip() if isinstance(base, str) else ""
    if text and kept and not text.startswith("<"):  # bare text: its own paragraph first
        text = f"<p>{html.escape(text, quote=False)}</p>"
    return (text + "".join(paragraph(k, v) for k, v in kept)) or False


def plain(notes: Any) -> str:
    """The text of html ``notes``, tags removed and entities read."""
    if not isinstance(notes, str):
        return ""
    return " ".join(html.unescape(_TAG.sub(" ", notes)).split())


def holds(notes: Any, key: str, text: Any) -> bool:
    """Whether ``notes`` (as read back) keep ``text`` for ``key`` under its label."""
    if not isinstance(text, str) or key not in LABELS:
        return False
    return f"{LABELS[key]}: {' '.join(text.split())}".casefold() in plain(notes).casefold()


def ours(notes: Any) -> bool:
    """Whether ``notes`` hold a kept-text paragraph of Ferry's."""
    bare = plain(notes)
    return any(label + ":" in bare for label in LABELS.values())


def same_besides_ours(sent: Any, stored: Any) -> bool:
    """Whether the stored notes are the sent ones plus Ferry's paragraphs."""
    return plain(sent) == plain(without_ours(stored))
