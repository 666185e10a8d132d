"""Small readers of FHIR R4 data types (HumanName, ContactPoint, Address, CodeableConcept …).

Kept apart from the resource mappers so each mapper reads as a list of field assignments.
Every reader accepts missing or oddly shaped input and returns ``None`` rather than raising:
real exports leave out most optional elements.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

#: resource types whose ids are used bare; others are "Type/id" so two types feeding one
#: canonical object (Invoice + Claim → invoice, Appointment + Encounter) never collide. Location
#: is bare: a site that is its Organization's own record shares its id (see ``location``).
BARE = {"Patient", "Practitioner", "Organization", "Location", "Appointment", "Invoice", "CarePlan",
        "Coverage", "MedicationRequest", "DocumentReference", "RelatedPerson"}
FERRY_EXT = "https://ferry.dev/fhir/StructureDefinition/"


class BadResource(ValueError):
    """A resource element has a shape R4 does not allow; names the element, never its value."""

    def __init__(self, element: str | None, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.reason = reason


def rid(rtype: str, id_: str) -> str:
    return id_ if rtype in BARE else f"{rtype}/{id_}"


def ref(value: Any) -> str | None:
    """Canonical id of a Reference (``{"reference": "Patient/12"}`` → ``12``)."""
    if not isinstance(value, dict):
        return None
    r = value.get("reference")
    if not isinstance(r, str) or "/" not in r:
        return None
    parts = r.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return rid(parts[-2], parts[-1])


def ref_type(value: Any) -> str | None:
    r = value.get("reference") if isinstance(value, dict) else None
    return r.rstrip("/").split("/")[-2] if isinstance(r, str) and "/" in r else None


def text(cc: Any) -> str | None:
    """A CodeableConcept (or Coding) as words: its text, else a display, else a code."""
    if not isinstance(cc, dict):
        return None
    if cc.get("text"):
        return str(cc["text"])
    for c in cc.get("coding") or ([cc] if "code" in cc or "display" in cc else []):
        if isinstance(c, dict) and (c.get("display") or c.get("code")):
            return str(c.get("display") or c.get("code"))
    return None


def first(items: Any) -> Any:
    return items[0] if isinstance(items, list) and items else None


def codes(ccs: Any, system_part: str = "") -> list[str]:
    out: list[str] = []
    for cc in ccs if isinstance(ccs, list) else [ccs]:
        if not isinstance(cc, dict):
            continue
        for c in cc.get("coding") or []:
            if isinstance(c, dict) and c.get("code") and system_part in str(c.get("system", "")):
                out.append(str(c["code"]))
    return out


def has_code(ccs: Any, *wanted: str) -> bool:
    return bool(set(codes(ccs)) & set(wanted))


def current(items: Any) -> list[Any]:
    """The entries of a HumanName / ContactPoint / Address list still in use, in order: not
    ``use: old`` and no ``period.end`` in the past (a moved patient's former address, a maiden
    name, a number given up); all of them when none is."""
    if not isinstance(items, list):
        return []
    today = dt.datetime.now(dt.UTC).date().isoformat()
    now = [i for i in items if isinstance(i, dict) and i.get("use") != "old"
           and not (isinstance(i.get("period"), dict) and isinstance(i["period"].get("end"), str)
                    and i["period"]["end"][:10] < today)]
    return now or items


def name(names: Any) -> dict[str, Any]:
    """First official (else first) HumanName in use → first/last/title; a ``usual`` one →
    preferred."""
    out: dict[str, Any] = {}
    if not isinstance(names, list) or not names:
        return out
    names = current(names)
    official = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"),
                    names[0])
    if isinstance(official, dict):
        given = official.get("given") or []
        if given:
            out["first_name"] = " ".join(str(g) for g in given)
        if official.get("family"):
            out["last_name"] = str(official["family"])
        if official.get("prefix"):
            out["title"] = " ".join(str(p) for p in official["prefix"])
        if not given and not official.get("family") and official.get("text"):
            parts = str(official["text"]).split()
            out["last_name"] = parts[-1]
            if len(parts) > 1:
                out["first_name"] = " ".join(parts[:-1])
    usual = next((n for n in names if isinstance(n, dict) and n.get("use") == "usual"), None)
    if usual and usual.get("given"):
        out["preferred_name"] = str(usual["given"][0])
    return out


def telecom(points: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in current(points):
        if not isinstance(p, dict) or not p.get("value"):
            continue
        system, use, value = p.get("system"), p.get("use"), str(p["value"])
        if system == "email":
            out.setdefault("email", value)
        elif system in ("phone", "sms"):
            out.setdefault("mobile" if use == "mobile" else "phone", value)
        elif system == "url":
            out.setdefault("website", value)
    return out


def address(addrs: Any) -> dict[str, str]:
    """The first address in use (a ``home`` one before others) → street, city …"""
    now = current(addrs)
    a = next((x for x in now if isinstance(x, dict) and x.get("use") == "home"), first(now))
    if not isinstance(a, dict):
        return {}
    lines = [str(x) for x in a.get("line") or []]
    out: dict[str, str] = {}
    if a.get("text") and not lines and not a.get("city"):
        out["address"] = str(a["text"])
        return out
    if lines:
        out["street"] = lines[0]
        if len(lines) > 1:
            out["street2"] = ", ".join(lines[1:])
    for src, dst in (("city", "city"), ("state", "region"), ("postalCode", "postcode"),
                     ("country", "country")):
        if a.get(src):
            out[dst] = str(a[src])
    return out


def instant(value: Any) -> dt.datetime | None:
    """A FHIR instant / dateTime; a date-only dateTime becomes midnight UTC. A clock time with
    no offset, which R4 does not allow, comes back naive: the reader settles it in the
    practice's zone or leaves it out (``reader.settle_naive``), never guessing UTC."""
    if value is not None and not isinstance(value, str):
        raise BadResource(None, "a dateTime element is not text")
    if not value:
        return None
    try:
        if len(value) == 10:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        got = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return got


def date(value: Any) -> dt.date | None:
    """A FHIR date; partial dates (``1980``, ``1980-03``) are not dates here (kept as custom)."""
    if value is not None and not isinstance(value, str):
        raise BadResource(None, "a date element is not text")
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def money(value: Any) -> tuple[Decimal | None, str | None]:
    if not isinstance(value, dict) or value.get("value") is None:
        return None, None
    return Decimal(str(value["value"])), value.get("currency")


def extensions(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Extensions with a simple value, as custom fields (nothing in the resource is dropped)."""
    out: dict[str, dict[str, Any]] = {}
    for ext in res.get("extension") or []:
        if not isinstance(ext, dict) or not ext.get("url"):
            continue
        key = str(ext["url"]).rstrip("/").split("/")[-1].replace("-", "_")
        for vk, ctype in (("valueString", "text"), ("valueBoolean", "bool"),
                          ("valueInteger", "int"), ("valueDecimal", "decimal"),
                          ("valueDate", "date"), ("valueDateTime", "datetime"),
                          ("valueCode", "text")):
            if vk in ext:
                out[key] = {"type": ctype, "value": ext[vk], "label": key.replace("_", " ")}
                break
    return out


def base(res: dict[str, Any]) -> dict[str, Any]:
    """Fields every canonical record takes from a resource: id, timestamps, extensions."""
    out: dict[str, Any] = {"source_id": rid(res["resourceType"], res["id"])}
    meta = res.get("meta") or {}
    updated = instant(meta.get("lastUpdated")) if isinstance(meta, dict) else None
    if updated:
        out["updated_at"] = updated
    custom = extensions(res)
    created = custom.pop("created_at", None)
    if created:
        out["created_at"] = instant(created["value"])
    if custom:
        out["custom"] = custom
    return out
