"""PracticeHub JSON rows → canonical records (the strict model of ``ferry.model.entities``).

The API is loose where the model is strict, so each value is decoded by the *kind* of the
canonical field it lands in: ids and references arrive as int or str (``patient_id`` mixes both
[code]); money arrives as strings [code] and becomes ``Decimal``. Dates and times are ISO 8601,
year first: every one the public sources show is (``created`` and ``start`` are zone-less
``YYYY-MM-DD HH:MM:SS`` [code], the ``start`` filter takes the same [code]; seed 001 moves the
birthday to Pipedrive's ``YYYY-MM-DD`` "with no data transformation"), taken in the account's
time zone when they carry none; one in the hour the clocks repeat or skip is read by
``connectors.walltime``'s stated rule (or the appointment's own end and length) and listed. A value in another shape is read only when no order could change
it (``13-Feb-1948``, ``28/02/2020``, ``05/05/1990``); an ambiguous one (``03/04/2025``) is bad
input, never guessed: the field is left empty, the record kept, and a line names the record and
field (never the value), unless ``source.dayfirst`` states the account's order. A row that
cannot be decoded otherwise raises ``RecordError`` naming the record and field, so the rest of
its page still loads. Unknown API fields are ignored: the docs promise no field list, so new
fields must not break an extraction.

Resource names other than ``patients``, ``practitioners``, ``appointments``,
``appointment_types``, ``files``, ``invoices``, ``payments``, ``payment_methods`` and
``patient_logs`` are ASSUMPTIONS modelled on Cliniko (PracticeHub publishes no endpoint
reference): the reader treats them as OPTIONAL and carries on when they answer 404.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

from ferry.connectors import walltime
from ferry.errors import RecordError
from ferry.model.entities import CustomValue, Record, entity, parse_record
from ferry.model.fields import Kind, field_info

SYSTEM = "practicehub"

#: canonical object → API resource (dependency order: parents first)
RESOURCES: dict[str, str] = {
    "clinic": "locations",
    "practitioner": "practitioners",
    "patient": "patients",
    "patient_relationship": "patient_relationships",
    "practitioner_patient": "practitioner_patients",
    "appointment_type": "appointment_types",
    "appointment": "appointments",
    "appointment_reminder": "appointment_reminders",
    "clinical_note": "clinical_notes",
    "treatment_record": "treatment_records",
    "insurance_policy": "insurance_policies",
    "prescription": "prescriptions",
    "invoice": "invoices",
    "payment": "payments",
    "document": "files",
    "campaign": "campaigns",
    "message": "patient_logs",
    "workflow": "workflows",
    "compliance_policy": "policies",
}

#: [code] resources public client code reads from the live API
PUBLIC: frozenset[str] = frozenset({
    "patients", "practitioners", "appointments", "appointment_types", "files", "invoices",
    "payments", "payment_methods", "patient_logs"})
#: objects whose resource no public source names: probed, absent when they answer 404
OPTIONAL: frozenset[str] = frozenset(o for o, r in RESOURCES.items() if r not in PUBLIC)
#: how to bring an object the API does not serve
UNREACHABLE_HOW = ("export it from PracticeHub as CSV and read the file with a clinic_csv "
                   "source into this project's staging (see docs/ENDPOINTS.md)")

#: API field → canonical field, where they differ
API_FIELDS: dict[str, dict[str, str]] = {
    "clinic": {"address_line_1": "street", "state": "region", "zip": "postcode"},
    "practitioner": {"location_id": "clinic_id", "designation": "credentials"},
    "patient": {"address_line_1": "street", "address_line_2": "street2", "state": "region",
                "zip": "postcode", "blood_type": "blood_group", "location_id": "clinic_id",
                "practitioner_id": "primary_practitioner_id", "contact_status": "status",
                "accepted_email_marketing": "consent_email",
                "accepted_sms_marketing": "consent_sms", "mobilephone": "mobile"},
    "appointment_type": {"duration": "duration_minutes", "price": "default_fee"},
    "appointment": {"location_id": "clinic_id", "appointment_type": "type_name",
                    "price": "fee", "did_not_arrive": "no_show", "duration": "duration_minutes",
                    "cancelReason": "cancellation_reason"},
    "appointment_reminder": {"type": "channel", "send_at": "due_at", "sent": "completed"},
    "clinical_note": {"content": "body"},
    "treatment_record": {"icd10_codes": "diagnosis_codes", "cpt_codes": "procedure_codes",
                         "estimate": "estimated_cost"},
    "insurance_policy": {"insurance_provider": "carrier", "policy_number": "member_id",
                         "expiry_date": "termination_date"},
    "prescription": {"medication_name": "medication", "prescription_date": "prescribed_on"},
    "invoice": {"total": "amount", "owing": "balance"},
    "payment": {"payment_method": "method", "payment_date": "paid_at"},
    "document": {"entity_type": "parent_object", "entity_id": "parent_id",
                 "file_type": "category"},
    "message": {"type": "channel", "sub_type": "direction", "data": "body"},
    "compliance_policy": {"content": "body"},
}

#: [code] ``processed`` and ``cancelled`` are seen; ``booked`` and ``dna`` are assumptions
APPOINTMENT_STATUS = {"booked": "scheduled", "processed": "completed", "cancelled": "cancelled",
                      "dna": "no_show", "scheduled": "scheduled", "completed": "completed",
                      "no_show": "no_show"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: what an ISO 8601 date or time looks like here: year first (extended or basic form)
_ISO_LIKE = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:[T ]\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?"
                       r"(?:Z|[+-]\d{2}:?(?:\d{2})?)?)?$")
#: ISO 8601's basic form (``19860608``, ``19860608093000``): year, month, day in that order
#: whatever the account's date order; dateutil's ``dayfirst`` reads it year-day-month
_BASIC = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


#: day and month as numbers, then a four-digit year (03/04/1990, 13.02.1948, 4-3-1990 09:30)
_NUMERIC = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2\d{4}(?![\d])")
_MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?![a-z])",
                         re.IGNORECASE)


def _certain_order(text: str) -> bool | None:
    """The ``dayfirst`` that reads ``text`` when only one reading exists, else None: a month
    written as a word; day and month as numbers where one is over 12 or both are the same."""
    m = _NUMERIC.match(text)
    if m:
        a, b = int(m[1]), int(m[3])
        if a == b or (a > 12) != (b > 12):
            return a > 12 or a == b
        return None
    return True if _MONTH_NAME.search(text) and re.search(r"\d{4}", text) else None


class NotISO(ValueError):
    """A date or time not in ISO 8601 (the API's documented shape): bad input, not a guess."""


class Decoder:
    """Decodes rows of one account (its time zone; ``dayfirst``: the order a user stated for
    dates not in ISO 8601, None to leave them out)."""

    def __init__(self, timezone: str = "UTC", dayfirst: bool | None = None) -> None:
        self.tz = ZoneInfo(timezone)
        self.dayfirst = dayfirst
        #: the last datetime read was a clock time in a repeated or skipped hour (``walltime``)
        self._unsure: walltime.Unsure | None = None
        #: per object, per row key: its field name and reader (``_step``)
        self._plans: dict[str, dict[str, tuple[str | None, Callable[[Any], Any] | None]]] = {}
        #: the reader of each kind not taken as it comes; each returns None for None
        self._readers: dict[Kind, Callable[[Any], Any]] = {
            Kind.REF: _ref, Kind.MONEY: _amount, Kind.DECIMAL: _amount, Kind.DATE: self._date,
            Kind.DATETIME: self._datetime, Kind.INT: _int, Kind.BOOL: _bool, Kind.SET: _set}

    # -- values ----------------------------------------------------------------------------------
    def date(self, value: Any) -> dt.date:
        if isinstance(value, str):
            text = value.strip()
            if _ISO_DATE.match(text):
                return dt.date.fromisoformat(text)
            if text.isdigit() and len(text) in _BASIC:
                return dt.datetime.strptime(text, _BASIC[len(text)]).replace(tzinfo=self.tz).date()
            if _ISO_LIKE.match(text):
                return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
            return self._local(text).date()
        raise ValueError("not a date")

    def _local(self, text: str) -> dt.datetime:
        """A value not in ISO 8601: read in the order ``source.dayfirst`` states, else only when
        no order could change it (a month named, a number over 12, day equal to month)."""
        dayfirst = self.dayfirst if self.dayfirst is not None else _certain_order(text)
        if dayfirst is None:
            raise NotISO("not an ISO 8601 date")  # never the value (PHI)
        try:
            return dateparser.parse(text, dayfirst=dayfirst)
        except (ValueError, OverflowError):
            if self.dayfirst is not None:
                raise
            raise NotISO("not an ISO 8601 date") from None

    def _date(self, value: Any) -> dt.date | None:
        return None if value is None else self.date(value)

    def _datetime(self, value: Any) -> dt.datetime | None:
        return None if value is None else self.datetime(value)

    def datetime(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise ValueError("not a timestamp")
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = (dt.datetime.strptime(text, _BASIC[len(text)]).replace(tzinfo=self.tz)
                      if text.isdigit() and len(text) in _BASIC else self._local(text))
        if parsed.tzinfo is not None:  # the source said which instant: taken at its word
            return parsed
        got, self._unsure = walltime.reading(parsed, self.tz)
        return got

    def value(self, kind: Kind, value: Any) -> Any:
        if value is None:
            return None
        read = self._readers.get(kind)
        return value if read is None else read(value)

    def custom(self, items: Any, issues: list[str] | None = None) -> dict[str, CustomValue]:
        """Cliniko-style custom fields: ``[{key, name, type, value, options}]`` (ASSUMPTION).
        ``issues`` collects the keys of dates not in ISO 8601 (kept as text)."""
        out: dict[str, CustomValue] = {}
        for item in items or []:
            ftype = item.get("type") or "text"
            raw = item.get("value")
            kind = {"int": Kind.INT, "decimal": Kind.DECIMAL, "bool": Kind.BOOL,
                    "date": Kind.DATE, "datetime": Kind.DATETIME, "set": Kind.SET}.get(ftype)
            key = str(item.get("key") or item.get("name"))
            try:
                value = self.value(kind, raw) if kind is not None else raw
            except NotISO:
                if issues is None:
                    raise
                issues.append(f"custom.{key}")  # kept as the text sent, as an export keeps it
                ftype, value = "text", raw
            out[key] = CustomValue(type=ftype, value=value, label=item.get("name"),
                                   options=item.get("options"))
        return out

    # -- rows ------------------------------------------------------------------------------------
    def record(self, obj: str, row: dict[str, Any], issues: list[RecordError] | None = None
               ) -> Record:
        """One API row as a canonical record; ``RecordError`` names the field that failed.

        A date or time not in ISO 8601 is left out (a custom one kept as text) with a
        ``RecordError`` (``kept``) in ``issues``, the record kept; without ``issues`` it fails
        the record."""
        rid = row.get("id")
        ref = f"{SYSTEM}:{obj}:{rid if isinstance(rid, int | str) else '?'}"
        if rid is None or isinstance(rid, bool) or str(rid).strip() == "":
            raise RecordError(ref, "id", "row has no id", system=SYSTEM)
        plan = self._plans.get(obj)
        if plan is None:
            plan = self._plans[obj] = {}
        data: dict[str, Any] = {"source_id": str(rid).strip()}
        left: list[str] = []  # fields whose value is not in ISO 8601 (left out)
        unsure: dict[str, walltime.Unsure] = {}  # clock times in a repeated or skipped hour
        for key, raw in row.items():
            step = plan.get(key)
            if step is None:
                step = plan[key] = self._step(obj, key)
            name, convert = step
            if name is None:
                continue
            if convert is None:
                data[name] = raw
                continue
            self._unsure = None
            try:
                data[name] = convert(raw) if name != "custom" or issues is None \
                    else self.custom(raw, left)
                if self._unsure is not None and name != "custom":
                    unsure[name] = self._unsure
            except NotISO:
                if issues is None or name not in _optional(obj):
                    raise RecordError(ref, name, f"the {key!r} value is not an ISO 8601 date"
                                      " (PracticeHub's dates are year first)",
                                      system=SYSTEM) from None
                left.append(name)
            except (ValueError, TypeError, OverflowError, InvalidOperation, AttributeError,
                    dateparser.ParserError):
                raise RecordError(ref, name, f"cannot read the {key!r} value",
                                  system=SYSTEM) from None
        if unsure and obj == "appointment" and "start" in data:
            data["start"], data["end"], decided = walltime.settle(
                data["start"], data.get("end"), data.get("duration_minutes"), unsure, self.tz)
            unsure.pop(decided or "", None)
        rec = parse_record(obj, data, system=SYSTEM)
        for name, kind in unsure.items():
            if issues is None:
                break
            issue = RecordError(ref, name, walltime.reason(kind) + "; the record is kept"
                                " (PracticeHub gives no offset: check it in the CRM)",
                                system=SYSTEM)
            issue.kept = True  # type: ignore[attr-defined]
            issues.append(issue)
        for name in left:
            custom = name.startswith("custom.")
            issue = RecordError(ref, name, "not an ISO 8601 date (PracticeHub's dates are year"
                                " first: YYYY-MM-DD); not guessed: "
                                + ("kept as the text sent" if custom else "the field is left"
                                   " empty") + ", the record is kept (set source.dayfirst if"
                                " the account writes its dates day-first or month-first)",
                                system=SYSTEM)
            issue.kept = True  # type: ignore[attr-defined]
            assert issues is not None
            issues.append(issue)
        return rec

    def _step(self, obj: str, key: str) -> tuple[str | None, Callable[[Any], Any] | None]:
        """How a row's ``key`` becomes a field: its name (None: not a field) and the function
        that reads its value (None: taken as it is). Worked out once per object and key, not
        per row: the row loop is the extract's inner loop."""
        if key == "id":
            return None, None
        if key in ("created", "updated"):
            name = "created_at" if key == "created" else "updated_at"
        elif key == "custom_fields":
            name = "custom"
        else:
            name = API_FIELDS.get(obj, {}).get(key, key)
        kinds = _kinds(obj)
        if name not in kinds:
            return None, None
        if name == "custom":
            return name, lambda raw: self.custom(raw)
        if obj == "appointment" and name == "status":
            return name, lambda raw: APPOINTMENT_STATUS.get(str(raw), str(raw))
        return name, self._readers.get(kinds[name])  # None: taken as it comes


def _ref(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("not an id")
    return str(value).strip() or None


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise ValueError("not an amount")
    return Decimal(str(value).strip())


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not an integer")
    return int(value)


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", ""):
        return False
    raise ValueError("not a boolean")


def _set(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


@cache
def _optional(obj: str) -> frozenset[str]:
    """Fields of ``obj`` a record can stand without (a bad date there is left out)."""
    model = entity(obj)
    return frozenset(n for n, f in model.model_fields.items() if not f.is_required())


@cache
def _kinds(obj: str) -> dict[str, Kind]:
    """Field name → kind of one object (field metadata is costly to rebuild per row)."""
    model = entity(obj)
    out = {name: field_info(model, name).kind for name in model.model_fields if name != "custom"}
    out["custom"] = Kind.JSON
    return out
