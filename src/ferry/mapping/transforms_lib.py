"""Value transforms: text, names, addresses, phones, emails, dates, numbers (registered into
``ferry.mapping.transforms.TRANSFORMS`` on import)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ferry.mapping.transforms import (
    ASSUMED,
    Ctx,
    SafeFormatter,
    _as_datetime,
    _Lazy,
    _plain,
    _text,
    _tz,
    template_namespace,
    transform,
)
from ferry.mapping.value_maps import InvalidValueError, TransformError

# ---------------------------------------------------------------------------------------------
# text

@transform("text")
def t_text(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Any value as text (lists joined with ", ")."""
    return _text(value)


@transform("strip")
def t_strip(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    return _text(value).strip() or None


@transform("lower")
def t_lower(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    return _text(value).lower()


@transform("upper")
def t_upper(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    return _text(value).upper()


@transform("truncate", required=("max",))
def t_truncate(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Cut text to ``max`` characters; the trace says "truncated" when it did."""
    s, n = _text(value), int(args["max"])
    if len(s) > n:
        ctx.flags.append("truncated")
        suffix = str(args.get("suffix", ""))
        return s[: max(n - len(suffix), 0)] + suffix
    return s


@transform("join")
def t_join(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Join several values (multi-source field or a list) with ``sep`` (default a space)."""
    items = value if isinstance(value, list) else [value]
    parts = [_text(v).strip() for v in items if v not in (None, "", [])]
    return str(args.get("sep", " ")).join(p for p in parts if p) or None


@transform("list_text")
def t_list_text(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A list as one text, ``sep`` default ", "."""
    items = value if isinstance(value, list) else [value]
    return str(args.get("sep", ", ")).join(_text(v) for v in items if v is not None) or None


@transform("coalesce")
def t_coalesce(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """First non-empty of several source values."""
    items = value if isinstance(value, list) else [value]
    return next((v for v in items if v not in (None, "", [])), None)


@transform("html")
def t_html(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Plain text → safe HTML (escaped, line breaks kept) for note bodies."""
    import html  # (here: its entity tables cost every verb's start ~1 ms otherwise)

    return html.escape(_text(value)).replace("\r\n", "\n").replace("\n", "<br>")


@transform("json_text")
def t_json_text(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Flatten JSON (object, list or JSON text) to newline-delimited "key: value" text."""
    value = _plain(value)
    if isinstance(value, str):
        s = value.strip()
        if not s or s[0] not in "[{":
            return value
        try:
            value = json.loads(s)
        except json.JSONDecodeError:
            return value
    lines: list[str] = []

    def walk(v: Any, prefix: str) -> None:
        if isinstance(v, dict):
            if prefix and all(not isinstance(x, dict | list) for x in v.values()):
                inner = ", ".join(f"{k}: {_text(x)}" for k, x in v.items() if x not in (None, ""))
                lines.append(f"{prefix}: {inner}" if prefix else inner)
                return
            for k, x in v.items():
                walk(x, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    lines.append(", ".join(f"{k}: {_text(y)}" for k, y in x.items()
                                           if y not in (None, "")))
                else:
                    walk(x, prefix)
        elif v not in (None, ""):
            lines.append(f"{prefix}: {_text(v)}" if prefix else _text(v))

    walk(value, "")
    return "\n".join(lines) or None


@transform("json")
def t_json(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A value serialised as JSON text (structured data kept in a text field)."""
    return json.dumps(_plain(value), default=str, sort_keys=True, ensure_ascii=False)


@transform("labelled", required=("labels",))
def t_labelled(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Several sources → "Label: value" lines (empty label: the value alone; empties skipped)."""
    items = value if isinstance(value, list) else [value]
    labels = list(args["labels"])
    lines = []
    for i, v in enumerate(items):
        if v in (None, "", []):
            continue
        label = labels[i] if i < len(labels) else ""
        text = t_json_text(v, {}, ctx) if isinstance(_plain(v), dict) else _text(v)
        lines.append(f"{label}: {text}" if label else str(text))
    return "\n".join(lines) or None


@transform("record_json", required=("fields",))
def t_record_json(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """The named record fields as one JSON object (``<x>_name`` names a referenced record)."""
    ns = template_namespace(ctx)
    out = {}
    for name in args["fields"]:
        v = ns.get(str(name))
        v = format(v, "") if isinstance(v, _Lazy) else _plain(v)
        if v not in (None, "", []):
            out[str(name)] = v
    return json.dumps(out, default=str, ensure_ascii=False) if out else None


@transform("format", required=("fmt",))
def t_format(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """``fmt`` with ``{value}`` and the record's fields (safe formatter)."""
    ns = template_namespace(ctx)
    ns["value"] = value
    return SafeFormatter().format(str(args["fmt"]), **ns)


# ---------------------------------------------------------------------------------------------
# names, addresses, phones, emails

@transform("split_name", required=("part",))
def t_split_name(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Full name → ``part`` first|last ("Last, First" understood)."""
    s = _text(value).strip()
    if "," in s:
        last, first = (p.strip() for p in s.split(",", 1))
    else:
        words = s.split()
        first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", s)
    part = args["part"]
    if part not in ("first", "last"):
        raise TransformError("split_name part must be first or last")
    return (first if part == "first" else last) or None


@transform("join_name")
def t_join_name(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """[first, last] (or [title, first, last]) → one display name."""
    return t_join(value, {"sep": " "}, ctx)


@transform("address", required=("part",), on_empty=True)
def t_address(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """One address string → ``part``: street, street2, city, region, postcode, country.
    With several sources ``[structured part(s)…, one-line address]`` the structured values win
    (joined by a line break, e.g. street + street2 for ``part: street_lines``). A country is
    written as its English name however the practice wrote it (``Deutschland``, ``UK``, ``DEU``
    → ``Germany``, ``United Kingdom``: ``ferry.model.countries``); one Ferry does not read as
    one country (unknown, or ``Georgia`` beside a US state) is written as exported, and the
    audit lists it. An address that names no country at all is given the one its state and
    postcode name when they agree (``ferry.model.postal``: ``WA`` with ``98101``, United
    States), flagged as assumed (the skip file lists the record and field); else none."""
    if value in (None, "", []):
        return _inferred_country(ctx, None) if args["part"] == "country" else None
    if isinstance(value, list):
        parts = [_text(v) for v in value[:-1] if v not in (None, "")]
        if parts and args["part"] == "country":
            return _country_as_named(parts[0], ctx)
        if parts:
            return "\n".join(parts)
        value = value[-1] if value else None
        if value in (None, ""):
            return _inferred_country(ctx, None) if args["part"] == "country" else None
    from ferry.mapping.address import parse_address

    text = _text(value)
    if args["part"] == "country" and not any(c in text for c in ",;\n") and \
            (named := _country_as_named(text, ctx, read_only=True)):
        return named  # a country column mapped alone ("UK", "Deutschland")
    try:
        got = parse_address(text)
        part = got.part(str(args["part"]))
    except KeyError:
        raise TransformError("unknown address part in the transform arguments") from None
    if args["part"] == "country" and part is None:
        return _inferred_country(ctx, got)
    return part


#: the flag of a country an address does not name, read from its state and postcode
INFERRED = (f"{ASSUMED}the country its state and postcode name together (the source names no"
            " country)")


def _inferred_country(ctx: Ctx, parsed: Any) -> str | None:
    """The English name of the country the record's state and postcode name when they agree
    (``model.postal.postal_country``; those of its one-line address, ``parsed``, when it has no
    structured ones), flagged ``INFERRED``; None when they name none, or conflict."""
    from ferry.model.countries import country_name
    from ferry.model.postal import postal_country

    rec = ctx.record
    if isinstance(getattr(rec, "country", None), str) and rec.country.strip():
        return None  # a country the map did not read here (another source): not replaced
    region = getattr(rec, "region", None) or getattr(parsed, "region", None)
    postcode = getattr(rec, "postcode", None) or getattr(parsed, "postcode", None)
    got = postal_country(region, postcode)
    if got.country is None or got.conflict:
        return None
    ctx.flags.append(INFERRED)
    return country_name(got.country)


def _country_as_named(text: str, ctx: Ctx, *, read_only: bool = False) -> str | None:
    """``text``'s country by its English name; unread, ``text`` as written (or None when
    ``read_only``)."""
    from ferry.model.countries import country_name, read_country

    rec = ctx.record
    got = read_country(text, getattr(rec, "region", None), getattr(rec, "postcode", None))
    return country_name(got.code) if got.code else None if read_only else text


@transform("address_line")
def t_address_line(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """[one-line address, street, street2, city, region, postcode, country] → one line: the
    one-line value when present (as the practice wrote it), else the parts joined with ", ":
    the country by its English name, or, when the parts name none, the one their state and
    postcode name together (``address``'s rule, flagged as assumed)."""
    items = value if isinstance(value, list) else [value]
    if items and items[0] not in (None, ""):
        return _text(items[0]).replace("\n", ", ")
    if len(items) >= 6 and items[-1] not in (None, ""):  # the country by its English name
        items = [*items[:-1], _country_as_named(_text(items[-1]), ctx)]
    elif len(items) >= 6 and any(v not in (None, "") for v in items[1:]):
        items = [*items[:-1], _inferred_country(ctx, None)]
    return ", ".join(_text(v) for v in items[1:] if v not in (None, "")) or None


#: why a phone of a record whose state and postcode conflict is left out (never the values)
CONFLICT = ("not read: the state and postcode of the record's address name different countries"
            " (set its country, or options.phone_region)")


@transform("phone_e164")
def t_phone(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A phone number → E.164, read in the numbering plan of the record's address country, else
    its clinic's, else ``region`` (when the map pins one), else the practice's country, else only by its own
    ``+`` prefix (``ferry.mapping.phones``). A number that is not valid there is never guessed:
    the field is left empty and the sample diff calls it unexplained. A list (several sources)
    gives the valid numbers, duplicates removed; one left out is flagged the same way. An
    address with no country whose state and postcode name different countries: no plan is
    taken (not even the practice's), and the number is left out the same way."""
    from ferry.mapping.phones import read_phone, record_plan

    plan = record_plan(ctx.record, ctx.clinics, infer=ctx.infer_country)
    if plan.conflict:
        raise InvalidValueError(CONFLICT)
    country = plan.country
    practice = str(args["region"]).upper() if args.get("region") else ctx.region
    if isinstance(value, list):
        reads = [read_phone(_text(v), country=country, practice=practice)
                 for v in value if v not in (None, "")]
        good = [r.e164 for r in reads if r.e164]
        if len(good) < len(reads):
            if not good:
                raise InvalidValueError(reads[0].reason)
            ctx.flags.append("invalid number left out")
        return list(dict.fromkeys(good)) or None
    got = read_phone(_text(value), country=country, practice=practice)
    if got.e164 is None:
        raise InvalidValueError(got.reason)
    return got.e164


@transform("email")
def t_email(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Validate and normalise an email address (no DNS lookups); lists element-wise."""
    from email_validator import EmailNotValidError, validate_email

    if isinstance(value, list):
        out = [t_email(v, args, ctx) for v in value if v not in (None, "")]
        return list(dict.fromkeys(out)) or None
    try:
        return validate_email(_text(value).strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise TransformError("not a valid email address") from None


# ---------------------------------------------------------------------------------------------
# dates, times, numbers

def _wall(value: Any, args: dict[str, Any]) -> dt.datetime:
    """In ``tz`` when given; else in the value's own offset, which the source staged (a 09:00
    visit in Sydney is on its Sydney day, not on the UTC day before)."""
    d = _as_datetime(value)
    return d.astimezone(_tz(args)) if "tz" in args else d


@transform("date")
def t_date(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Date (from a date, a datetime in ``tz`` or else its own offset, or text)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return _wall(value, args).date()


@transform("datetime")
def t_datetime(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Aware datetime in ``tz`` (default UTC); naive input is taken as UTC."""
    return _as_datetime(value).astimezone(_tz(args))


@transform("time")
def t_time(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Time of day in ``tz`` (else the value's own offset) as text, ``fmt`` default "%H:%M"."""
    return _wall(value, args).strftime(str(args.get("fmt", "%H:%M")))


@transform("strftime", required=("fmt",))
def t_strftime(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A date/datetime as text in ``fmt`` (in ``tz``, else in the value's own offset)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime(str(args["fmt"]))
    return _wall(value, args).strftime(str(args["fmt"]))


@transform("minutes_between")
def t_minutes_between(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """[start, end] → whole minutes between them; [minutes, start, end] prefers ``minutes``.
    ``assume: true`` (a destination that refuses an appointment without a length): with no
    minutes and no end, the appointment type's default length, else
    ``options.default_appointment_minutes``, flagged as assumed (listed, never silent)."""
    if isinstance(value, list) and len(value) == 3:
        if value[0] not in (None, ""):
            return int(value[0])
        value = value[1:]
    if isinstance(value, list) and len(value) == 2 and value[0] is not None \
            and value[1] is None and args.get("assume"):
        return _assumed_minutes(ctx)
    if not isinstance(value, list) or len(value) != 2 or None in value:
        return None
    delta = _as_datetime(value[1]) - _as_datetime(value[0])
    return max(int(delta.total_seconds() // 60), 0)


def _assumed_minutes(ctx: Ctx) -> int | None:
    """An appointment's length when the source gives neither an end nor a length."""
    lengths = ctx.lengths
    if lengths is None:
        return None
    rec = ctx.record
    tid, name = getattr(rec, "appointment_type_id", None), getattr(rec, "type_name", None)
    minutes = lengths.by_type.get(str(tid)) if tid is not None else None
    if minutes is None and name:
        minutes = lengths.by_name.get(str(name).strip().casefold())
    if minutes is not None:
        ctx.flags.append(f"{ASSUMED}the length of its appointment type ({minutes} min): the"
                         " source gives no end and no length")
        return minutes
    if lengths.default is not None:
        ctx.flags.append(f"{ASSUMED}options.default_appointment_minutes ({lengths.default}"
                         " min): the source gives no end and no length, nor its type")
        return lengths.default
    return None


@transform("hhmm")
def t_hhmm(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Minutes → "HH:MM" (Pipedrive activity duration)."""
    try:
        m = int(value)
    except (TypeError, ValueError):
        raise TransformError("not a number of minutes") from None
    return f"{m // 60:02d}:{m % 60:02d}"


@transform("money")
def t_money(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Money (Decimal/number/text like "1,250.00") → ``as`` float (default), decimal or int."""
    try:
        if isinstance(value, str):
            value = re.sub(r"[^\d.\-]", "", value)
        # a staged amount is a Decimal already: its text read back is itself (1 % of a 1k
        # Odoo load's samples); a float still goes through its text (1.1, not its binary)
        d = value if value.__class__ is Decimal else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise TransformError("not an amount of money") from None
    kind = args.get("as", "float")
    cents = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if kind == "decimal":
        return cents
    if kind == "int":
        return int(d)
    return float(cents)


@transform("int")
def t_int(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise TransformError("not a whole number") from None


TRUE = {"true", "yes", "y", "1", "t", "on", "x"}
FALSE = {"false", "no", "n", "0", "f", "off", ""}


@transform("bool")
def t_bool(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Yes/no, 1/0, true/false → bool."""
    if isinstance(value, bool):
        return value
    s = _text(value).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise TransformError("not a yes/no value")


