"""The destination state a migration must produce, derived from the generated practice alone.

``expected(practice, destination)`` reads only ``Practice.iter`` (the records the source serves),
the ledger of planted dirt and the recipe's semantics written out here by hand: which maps create
records, from which source objects, linked to which parents, owned by whom. It never looks at the
engine's staging store, id map or audit log.

``actual(state, destination)`` normalizes a destination sandbox's ``/_sandbox/state`` into the
same shape, so the two compare as multisets: one entry per live destination record, naming its
source id, its key fields, and its links to parents *by source id*. Every source id therefore
appears at most once (a duplicate shows up as a count of 2), nothing is missing, nothing extra.

Recipe semantics encoded (PracticeHub → Odoo ``no_accounting`` and → Pipedrive):
* patients sharing an email are merged into the most complete record of the group (most
  non-empty fields as read: an ambiguous date in a local shape is left out; then earliest created,
  then lowest id); children of a merged patient link to the survivor;
* orphan appointments / notes (naming a patient the source does not have) are skipped, and so are
  their dependants that require them;
* owners: a record's practitioner → the destination user with the practitioner's email, else the
  fallback owner;
* documents over the destination's file-size limit are not uploaded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ferry.sandbox.harness import FALLBACK_OWNER
from ferry.sandbox.synth import Practice

SKIP_FIELDS = {"source_id", "created_at", "updated_at", "custom"}
EMPTY: tuple[Any, ...] = (None, "", [], {}, False)
FERRY_ID = re.compile(r"\[ferry-id:(?:[A-Za-z0-9_]+=)?([^\]]+)\]")  # [ferry-id:(field=)sid]

State = dict[str, Counter[tuple[Any, ...]]]


def _norm(email: str | None) -> str | None:
    e = (email or "").strip().lower()
    return e or None


def _name(first: str | None, last: str | None) -> str:
    return " ".join(x.strip() for x in (first, last) if x and x.strip())


@dataclass
class Facts:
    """What the practice says, independent of Ferry."""

    practice: Practice
    max_file_bytes: int | None = None

    def __post_init__(self) -> None:
        pr = self.practice
        self.users = {_norm(e) for e in pr.crm_user_emails()} | {_norm(FALLBACK_OWNER)}
        self.practitioners = {p.source_id: p for p in pr.iter("practitioner")}
        self.patients = {p.source_id: p for p in pr.iter("patient")}
        self.invalid_email = pr.ledger.ids("invalid_email")
        self.survivor = self._merges()
        self.appointments = {a.source_id: a for a in pr.iter("appointment")
                             if a.patient_id in self.patients}

    def _merges(self) -> dict[str, str]:
        groups: dict[str, list[Any]] = {}
        for p in self.patients.values():
            if _norm(p.email):
                groups.setdefault(_norm(p.email), []).append(p)

        def rank(p: Any) -> tuple[Any, ...]:
            filled = sum(1 for k, v in p.model_dump().items()
                         if k not in SKIP_FIELDS and v not in EMPTY and self.readable(p, k))
            return (-filled, p.created_at.isoformat() if p.created_at else "",
                    int(p.source_id) if p.source_id.isdigit() else 0, p.source_id)

        out: dict[str, str] = {}
        for members in groups.values():
            members.sort(key=rank)
            for m in members:
                out[m.source_id] = members[0].source_id
        # every planted same-email duplicate is one of these groups
        for dup, orig in self.practice.ledger.pairs("duplicate_email").items():
            assert out.get(dup) == out.get(orig) is not None, (dup, orig)
        return out

    def readable(self, patient: Any, field: str) -> bool:
        """PracticeHub's dates are ISO 8601: one the API serves in a local shape (the
        ``mixed_date_format`` dirt) is read only when no order could change it (a month
        named, day over 12 or equal to the month); else it is left out, so it does not make
        its record more complete."""
        fmt = self.practice.date_format("patient", patient.source_id, field)
        if fmt is None or fmt.startswith("%Y%m%d") or "%b" in fmt:
            return True
        value = getattr(patient, field)
        return value is None or value.day > 12 or value.day == value.month

    def surv(self, patient_id: str | None) -> str | None:
        if patient_id is None or patient_id not in self.patients:
            return None
        return self.survivor.get(patient_id, patient_id)

    def merged_patient(self, sid: str) -> dict[str, Any]:
        """The survivor's values, its empty fields filled from the records merged into it."""
        group = [p for p in self.patients.values() if self.survivor.get(p.source_id) == sid]
        base = self.patients[sid].model_dump()
        for other in group:
            for k, v in other.model_dump().items():
                if base.get(k) in EMPTY and v not in EMPTY and k not in SKIP_FIELDS:
                    base[k] = v
        return base

    def owner(self, practitioner_id: str | None) -> str:
        p = self.practitioners.get(practitioner_id or "")
        email = _norm(p.email) if p is not None else None
        return email if email in self.users else _norm(FALLBACK_OWNER)  # type: ignore[return-value]

    def kept_patients(self) -> Iterable[str]:
        return (sid for sid in self.patients if self.surv(sid) == sid)

    def patient_row(self, sid: str) -> tuple[Any, ...]:
        m = self.merged_patient(sid)
        email = None if sid in self.invalid_email else _norm(m["email"])
        return ("patient", sid, _name(m["first_name"], m["last_name"]), email,
                self.owner(m["primary_practitioner_id"]))

    def documents(self) -> Iterable[Any]:
        for d in self.practice.iter("document"):
            if self.max_file_bytes is not None and (d.size or 0) > self.max_file_bytes:
                continue
            yield d


def expected(practice: Practice, destination: str, *, max_file_bytes: int = 50 * 2**20
             ) -> State:
    f = Facts(practice, max_file_bytes)
    pr = practice
    out: State = {}

    def add(obj: str, row: tuple[Any, ...]) -> None:
        out.setdefault(obj, Counter())[row] += 1

    if destination == "odoo":
        for c in pr.iter("clinic"):
            add("res.partner", ("clinic", c.source_id, c.name))
        for sid in f.kept_patients():
            add("res.partner", f.patient_row(sid))
        for a in f.appointments.values():
            add("crm.lead", ("appointment", a.source_id, f.surv(a.patient_id),
                             f.owner(a.practitioner_id)))
        for t in pr.iter("treatment_record"):
            if f.surv(t.patient_id):
                add("crm.lead", ("treatment_record", t.source_id, f.surv(t.patient_id),
                                 f.owner(t.practitioner_id)))
        for n in pr.iter("clinical_note"):
            if f.surv(n.patient_id):
                add("mail.message", ("clinical_note", n.source_id, f.surv(n.patient_id)))
        for m in pr.iter("message"):
            if f.surv(m.patient_id):
                add("mail.message", ("message", m.source_id, f.surv(m.patient_id)))
        for c in pr.iter("campaign"):
            if f.surv(c.patient_id):
                add("mail.activity", ("campaign", c.source_id, f.surv(c.patient_id)))
        for d in f.documents():
            if f.surv(d.patient_id):
                add("ir.attachment", ("document", f.surv(d.patient_id), d.file_name))
    elif destination == "pipedrive":
        for c in pr.iter("clinic"):
            add("organization", ("clinic", c.source_id, c.name))
        for sid in f.kept_patients():
            add("person", f.patient_row(sid))
        for p in f.practitioners.values():
            if p.is_patient:
                add("person", ("practitioner", p.source_id, _name(p.first_name, p.last_name)))
        for a in f.appointments.values():
            add("deal", ("appointment", a.source_id, f.surv(a.patient_id),
                         f.owner(a.practitioner_id)))
        for t in pr.iter("treatment_record"):
            if f.surv(t.patient_id):
                add("deal", ("treatment_record", t.source_id, f.surv(t.patient_id),
                             f.owner(t.practitioner_id)))
        for i in pr.iter("invoice"):
            if f.surv(i.patient_id):
                add("deal", ("invoice", i.source_id, f.surv(i.patient_id)))
        for r in pr.iter("appointment_reminder"):
            if r.appointment_id in f.appointments:
                add("activity", ("reminder", r.source_id, r.appointment_id))
        for c in pr.iter("campaign"):
            if f.surv(c.patient_id):
                add("activity", ("campaign", c.source_id, f.surv(c.patient_id)))
        for n in pr.iter("clinical_note"):
            if f.surv(n.patient_id):
                add("note", ("clinical_note", n.source_id, f.surv(n.patient_id)))
        for r in pr.iter("patient_relationship"):
            if f.surv(r.patient_id):
                add("note", ("relationship", r.source_id, f.surv(r.patient_id)))
        for m in pr.iter("message"):
            if f.surv(m.patient_id):
                add("note", ("message", m.source_id, f.surv(m.patient_id)))
        for d in f.documents():
            if d.parent_object == "appointment":
                if d.parent_id in f.appointments:
                    add("file", ("document", "deal", d.parent_id, d.file_name))
            elif f.surv(d.patient_id):
                add("file", ("document", "person", f.surv(d.patient_id), d.file_name))
    else:
        raise ValueError(f"no oracle for {destination}")
    return out


# ---------------------------------------------------------------- actual state, normalized


def actual(state: dict[str, Any], destination: str) -> State:
    return {"odoo": _odoo, "pipedrive": _pipedrive}[destination](state)


def _odoo(state: dict[str, Any]) -> State:
    m = state["models"]
    logins = {int(i): _norm(u.get("login")) for i, u in m["res.users"].items()}

    def live(model: str) -> list[dict[str, Any]]:
        return [r for r in m.get(model, {}).values() if r.get("active", True) is not False]

    partner_sid = {}
    for r in m["res.partner"].values():
        if r.get("x_ferry_source_id"):
            partner_sid[r["id"]] = r["x_ferry_source_id"]
    out: State = {}

    def add(obj: str, row: tuple[Any, ...]) -> None:
        out.setdefault(obj, Counter())[row] += 1

    for r in live("res.partner"):
        if r.get("x_ferry_clinic_id"):
            add("res.partner", ("clinic", r["x_ferry_clinic_id"], r["name"]))
        if r.get("x_ferry_source_id"):
            add("res.partner", ("patient", r["x_ferry_source_id"], r["name"],
                                _norm(r.get("email") or None), logins.get(r.get("user_id"))))
    for r in live("crm.lead"):
        if r.get("x_ferry_source_id"):
            add("crm.lead", ("appointment", r["x_ferry_source_id"],
                             partner_sid.get(r.get("partner_id")), logins.get(r.get("user_id"))))
        if r.get("x_ferry_treatment_record_id"):
            add("crm.lead", ("treatment_record", r["x_ferry_treatment_record_id"],
                             partner_sid.get(r.get("partner_id")), logins.get(r.get("user_id"))))
    for r in live("mail.message"):
        if r.get("x_ferry_source_id"):
            add("mail.message", ("clinical_note", r["x_ferry_source_id"],
                                 partner_sid.get(r.get("res_id"))))
        if r.get("x_ferry_message_id"):
            add("mail.message", ("message", r["x_ferry_message_id"],
                                 partner_sid.get(r.get("res_id"))))
    for r in live("mail.activity"):
        if r.get("x_ferry_source_id"):
            add("mail.activity", ("campaign", r["x_ferry_source_id"],
                                  partner_sid.get(r.get("res_id"))))
    for r in live("ir.attachment"):
        if r.get("res_model") == "res.partner" and r.get("res_id") in partner_sid:
            add("ir.attachment", ("document", partner_sid[r["res_id"]], r.get("name")))
    return out


def _custom_key(state: dict[str, Any], obj: str, label: str) -> str | None:
    for f in state["fields"].get(obj, []):
        if f.get("field_name") == label and not f.get("is_deleted"):
            return str(f["field_code"])
    return None


def _pipedrive(state: dict[str, Any]) -> State:
    recs = state["records"]
    emails = {u["id"]: _norm(u.get("email")) for u in state["users"]}

    def live(obj: str) -> list[dict[str, Any]]:
        return [r for r in recs.get(obj, []) if not r.get("is_deleted")
                and r.get("active_flag", True) is not False]

    def cf(r: dict[str, Any], key: str | None) -> Any:
        return (r.get("custom_fields") or {}).get(key) if key else None

    k_org = _custom_key(state, "organization", "Ferry source ID")
    k_pat = _custom_key(state, "person", "Ferry source ID")
    k_pra = _custom_key(state, "person", "Ferry source ID (practitioner)")
    k_app = _custom_key(state, "deal", "Ferry source ID")
    k_trt = _custom_key(state, "deal", "Ferry source ID (treatment record)")
    k_inv = _custom_key(state, "deal", "Ferry source ID (invoice)")
    person_sid = {r["id"]: cf(r, k_pat) for r in recs.get("person", []) if cf(r, k_pat)}
    deal_sid = {r["id"]: cf(r, k_app) for r in recs.get("deal", []) if cf(r, k_app)}
    out: State = {}

    def add(obj: str, row: tuple[Any, ...]) -> None:
        out.setdefault(obj, Counter())[row] += 1

    for r in live("organization"):
        if cf(r, k_org):
            add("organization", ("clinic", cf(r, k_org), r["name"]))
    for r in live("person"):
        if cf(r, k_pat):
            primary = next((e.get("value") for e in r.get("emails") or []
                            if e.get("primary")), None)
            add("person", ("patient", cf(r, k_pat), r["name"], _norm(primary),
                           emails.get(r.get("owner_id"))))
        if cf(r, k_pra):
            add("person", ("practitioner", cf(r, k_pra), r["name"]))
    for r in live("deal"):
        person = person_sid.get(r.get("person_id"))
        if cf(r, k_app):
            add("deal", ("appointment", cf(r, k_app), person, emails.get(r.get("owner_id"))))
        if cf(r, k_trt):
            add("deal", ("treatment_record", cf(r, k_trt), person,
                         emails.get(r.get("owner_id"))))
        if cf(r, k_inv):
            add("deal", ("invoice", cf(r, k_inv), person))
    for r in live("activity"):
        found = FERRY_ID.search(r.get("note") or "")
        if found is None:
            continue
        if r.get("deal_id") is not None:
            add("activity", ("reminder", found.group(1), deal_sid.get(r["deal_id"])))
        else:
            add("activity", ("campaign", found.group(1), person_sid.get(r.get("person_id"))))
    for r in live("note"):
        content = r.get("content") or ""
        found = FERRY_ID.search(content)
        if found is not None:  # notes carry no custom fields: the kind shows in the text
            kind = ("message" if content.startswith("Direction:") else "relationship"
                    if content.startswith("Related patient") else "clinical_note")
            add("note", (kind, found.group(1), person_sid.get(r.get("person_id"))))
    for r in live("file"):
        if r.get("deal_id") is not None:
            add("file", ("document", "deal", deal_sid.get(r["deal_id"]), r.get("name")))
        else:
            add("file", ("document", "person", person_sid.get(r.get("person_id")),
                         r.get("name")))
    return out


def live_records(state: dict[str, Any], destination: str) -> dict[str, dict[str, Any]]:
    """Every live record of the account by object and id (rollback compares these)."""
    if destination == "odoo":
        return {model: {i: r for i, r in rows.items() if r.get("active", True) is not False}
                for model, rows in state["models"].items()
                if not model.startswith(("ir.model", "ir.module"))}
    if destination == "pipedrive":
        out = {obj: {str(r["id"]): r for r in rows if not r.get("is_deleted")
                     and r.get("active_flag", True) is not False}
               for obj, rows in state["records"].items()}
        out["users"] = {str(u["id"]): u for u in state["users"]}
        for key in ("pipelines", "stages", "activity_types"):
            out[key] = {str(r["id"]): r for r in state[key] if not r.get("is_deleted")
                        and r.get("active_flag", True) is not False}
        for obj, fields in state["fields"].items():
            out[f"fields:{obj}"] = {str(f["field_code"]): f for f in fields
                                    if not f.get("is_deleted")}
        return out
    raise ValueError(destination)


def duplicates(got: State) -> list[tuple[Any, ...]]:
    """Source ids present more than once in one destination object."""
    seen: Counter[tuple[Any, ...]] = Counter()
    for obj, rows in got.items():
        for row, n in rows.items():
            key = (obj, *row) if row[0] == "document" else (obj, row[0], row[1])
            seen[key] += n
    return [k for k, n in seen.items() if n > 1]


def diff(want: State, got: State, limit: int = 8) -> list[str]:
    """Human-readable differences (empty when equal)."""
    lines: list[str] = []
    for obj in sorted(set(want) | set(got)):
        w, g = want.get(obj, Counter()), got.get(obj, Counter())
        missing, extra = w - g, g - w
        if missing or extra:
            lines.append(f"{obj}: expected {sum(w.values())}, got {sum(g.values())};"
                         f" missing {sum(missing.values())}, extra {sum(extra.values())}")
            lines += [f"  - {row} x{n}" for row, n in list(missing.items())[:limit]]
            lines += [f"  + {row} x{n}" for row, n in list(extra.items())[:limit]]
    return lines
