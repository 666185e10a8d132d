"""The clinic's changes during a cutover, made the way each source system really shows them:
``ferry demo --delta`` makes them before its delta step, ``bench/truth.py`` before its scenarios.

One plan of changes, drawn from the generated practice, is applied per source (names as
``apply`` takes them):

* ``practicehub`` (REST): records edited, added and deleted in the sandbox's account while it
  runs (``/_sandbox/set``, ``/_sandbox/mutate``); Ferry reads them through the documented list
  endpoints (``?updated=``, a deletion found by the id sweep or, extended, ``/deleted``);
* ``pulse`` (REST, an assumed API: extended surface only): the account's rows change, each with
  a new ``Modified On``; there is no deletion signal (the connector page says so);
* ``pulse_export`` and ``clinic_csv``: the clinic exports again, and the newer export's files
  replace the old ones in the folder Ferry reads;
* ``fhir`` (Bulk Data server): the EHR's resources change (a new ``meta.lastUpdated``) and a
  deleted one is listed in the ``deleted`` bundles of the next ``_since`` export;
* ``fhir_folder``: Ferry reads a folder holding a full Bulk Data export (its NDJSON files and
  ``manifest.json``), as a clinic downloads one from its EHR; the EHR's resources change and a
  newer full export replaces the folder's files (a deleted resource is simply not in it).

The plan: a new patient; an edited phone (written as staff type it, national format), email,
address, an accented name; an emptied optional field; a cancelled appointment; a paid invoice;
a credit note of -25.50 and a zero invoice; a same-email pair told apart by giving one its own
email; a new document (sources that carry documents); a deleted patient and a deleted
appointment. ``stages`` splits it in two (edits and additions, then deletions) for a demo that
shows a delta of each.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from ferry.sandbox.synth import Practice

#: sources whose records include documents (a new document is one of the changes there)
WITH_DOCUMENTS = {"practicehub", "fhir", "fhir_folder"}

Wanted = list[tuple[str, str, str, Any]]


@dataclass
class Plan:
    """What the clinic changes: canonical field values per record, deletions, additions."""

    sets: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    new_patient: tuple[str, str] | None = None  # (new id, template id)
    new_document: tuple[str, str] | None = None  # (new id, template id)
    wanted: Wanted = field(default_factory=list)
    made_at: dt.datetime | None = None  # when ``apply`` made it (the changed records' stamp)


def plan(practice: Practice, today: str, documents: bool) -> Plan:
    import phonenumbers

    out = Plan()
    patients = sorted(practice.iter("patient"), key=lambda p: int(p.source_id))
    mine = {p.source_id for p in patients}

    def plus(p: Any) -> str | None:
        return next((f for f in ("phone", "mobile") if (getattr(p, f) or "").startswith("+")),
                    None)

    with_phone = [p for p in patients if p.email and p.city]
    p1 = next(p for p in with_phone if plus(p))
    p2, p3 = [p for p in with_phone if p is not p1][1:3]
    appts = sorted(practice.iter("appointment"), key=lambda a: int(a.source_id))
    open_appt = next(a for a in appts if a.status == "scheduled" and a.patient_id in mine)
    invoices = sorted(practice.iter("invoice"), key=lambda i: int(i.source_id))
    unpaid = next(i for i in invoices if i.status in ("pending", "overdue")
                  and i.patient_id in mine)
    phone_field = plus(p1)
    assert phone_field is not None
    region = phonenumbers.region_code_for_number(
        phonenumbers.parse(getattr(p1, phone_field), None))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    new_phone = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    new_e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    s1, s2, s3 = p1.source_id, p2.source_id, p3.source_id
    out.sets += [
        ("patient", s1, {phone_field: new_phone, "occupation": None}),
        ("patient", s2, {"email": f"moved.{s2}@example.org", "street": "12 Rue de l'Église",
                         "city": "Zoë-sur-Mer", "address": None}),
        ("patient", s3, {"first_name": "Åsa-Renée", "last_name": "Ødegård"}),
        ("appointment", open_appt.source_id, {
            "status": "cancelled", "cancellation_reason": "patient called",
            "cancelled_at": dt.datetime.now(dt.UTC).isoformat()}),
        ("invoice", unpaid.source_id, {"status": "paid", "balance": "0", "paid_date": today})]
    later = [i for i in invoices if i.patient_id in mine and i.source_id != unpaid.source_id]
    credit, zero = later[-1], later[-2]
    out.sets += [("invoice", credit.source_id, {"amount": "-25.50", "balance": "-25.50",
                                                "status": "pending", "paid_date": None}),
                 ("invoice", zero.source_id, {"amount": "0", "balance": "0", "status": "paid"})]
    by_email: dict[str, list[str]] = {}
    for p in patients:
        if p.email:
            by_email.setdefault(p.email.strip().lower(), []).append(p.source_id)
    shared = [sorted(ids, key=int) for ids in by_email.values() if len(ids) > 1]
    split = shared[-1][-1] if len(shared) > 1 else None
    if split is not None:
        out.sets.append(("patient", split, {"email": f"own.{split}@example.org"}))
    touched = {s1, s2, s3, split}
    rng = random.Random(7)
    gone = rng.choice([p.source_id for p in patients if p.source_id not in touched])
    gone_appt = rng.choice([a.source_id for a in appts if a.source_id != open_appt.source_id
                            and a.patient_id != gone])
    out.deletes += [("patient", gone), ("appointment", gone_appt)]
    new_id = str(max(int(p.source_id) for p in patients) + 1)
    out.new_patient = (new_id, rng.choice([p.source_id for p in patients
                                           if p.source_id not in touched | {gone}]))
    if documents:
        docs = [d for d in practice.iter("document") if d.patient_id in mine - {gone}]
        if docs:
            template = rng.choice(docs)
            top = max(int(d.source_id) for d in practice.iter("document"))
            out.new_document = (str(top + 1), template.source_id)
    out.wanted = [
        ("patient", s1, "phone", new_e164),
        ("patient", s1, "occupation", None),
        ("patient", s2, "email", f"moved.{s2}@example.org"),
        ("patient", s2, "city", "Zoë-sur-Mer"),
        ("patient", s3, "name", "Åsa-Renée Ødegård"),
        ("appointment", open_appt.source_id, "status", "cancelled"),
        ("invoice", unpaid.source_id, "status", "paid"),
        ("invoice", credit.source_id, "amount", "-25.5")]
    if split is not None:
        out.wanted.append(("patient", split, "email", f"own.{split}@example.org"))
    out.wanted += [("patient", gone, "*", None), ("appointment", gone_appt, "*", None),
                   ("patient", new_id, "email", f"new.patient.{new_id}@example.com")]
    return out


class Changed(Practice):
    """The practice as the source holds it after the plan: what a newer export or a server's
    next answer is written from. Changed and added records carry ``updated_at`` = when the
    change was made."""

    def __init__(self, base: Practice, plan: Plan, now: dt.datetime | None = None) -> None:
        self.__dict__.update(base.__dict__)
        self._counts = {}
        now = now or dt.datetime.now(dt.UTC)
        self.now = now
        self.sets: dict[tuple[str, str], dict[str, Any]] = {}
        for obj, sid, fields in plan.sets:
            self.sets.setdefault((obj, sid), {}).update(fields)
        self.gone = set(plan.deletes)
        self.added: dict[str, list[Any]] = {}
        for obj, made in (("patient", plan.new_patient), ("document", plan.new_document)):
            if made is None:
                continue
            new_id, template_id = made
            template = next(r for r in base.iter(obj) if r.source_id == template_id)
            change: dict[str, Any] = {"source_id": new_id, "created_at": now,
                                      "updated_at": now}
            if obj == "patient":  # a new person, not a duplicate of the template
                change["email"] = f"new.patient.{new_id}@example.com"
            else:
                change["file_name"] = f"new_{new_id}_{template.file_name}"
            self.added[obj] = [template.model_copy(update=change)]

    def iter(self, obj: str) -> Iterator[Any]:
        for rec in super().iter(obj):
            key = (obj, rec.source_id)
            if key in self.gone:
                continue
            if key in self.sets:
                rec = type(rec).model_validate({**rec.model_dump(), **self.sets[key],
                                                "updated_at": self.now})
            yield rec
        yield from self.added.get(obj, [])

    def count(self, obj: str) -> int:
        return sum(1 for _ in self.iter(obj))

    def document(self, source_id: str) -> Any:
        if ("document", source_id) in self.gone:
            return None
        for d in self.added.get("document", []):
            if d.source_id == source_id:
                return d
        return super().document(source_id)


def stages(changes: Plan) -> tuple[Plan, Plan]:
    """The plan in two steps: its edits and additions, then everything with the deletions
    (``apply(..., before=first)`` makes only what the first did not)."""
    return replace(changes, deletes=[], wanted=[w for w in changes.wanted if w[2] != "*"]), \
        changes


def source_name(pair: Any) -> str:
    """``apply``'s name for ``pair``'s source: Pulse read from its export folder is
    ``pulse_export`` (the same sandbox kind as the REST mode)."""
    kind = pair.source_info["kind"]
    return "pulse_export" if kind == "pulse" and pair.source_info.get("mode") == "export" \
        else kind


def apply(pair: Any, source: str, sandbox: Any, changes: Plan, *,
          before: Plan | None = None) -> None:
    """Make the plan's changes in ``pair``'s source as that system shows them; ``before``: a
    plan made already (its changes are there: only the rest is made now). ``sandbox``: the
    source's sandbox object (``Pair.source_sandbox``; None for an export folder)."""
    time.sleep(1.1)  # the sources' watermarks have one-second resolution
    if source == "practicehub":
        _practicehub(pair.source_info["base_url"], changes if before is None else Plan(
            sets=[s for s in changes.sets if s not in before.sets],
            deletes=[d for d in changes.deletes if d not in before.deletes],
            new_patient=None if before.new_patient else changes.new_patient,
            new_document=None if before.new_document else changes.new_document))
        return
    # made in two steps, the records the first changed keep its stamp (they are not new news)
    changed = Changed(pair.practice, changes, before.made_at if before is not None else None)
    changes.made_at = changed.now
    if source in ("pulse_export", "clinic_csv"):  # the clinic exports again, over the old one
        from ferry.sandbox.clinic_export import write_clinic_export
        from ferry.sandbox.pulse.export import write_export

        folder = Path(pair.source_info["base_url"])
        (write_export if source == "pulse_export" else write_clinic_export)(folder, changed)
    elif source == "pulse":
        sandbox.state.use(changed)
    elif source in ("fhir", "fhir_folder"):
        state = sandbox.state
        with state.lock:
            state.practice = changed
            state._docs = None
        for obj, sid in changes.deletes:
            if before is None or (obj, sid) not in before.deletes:
                state.delete(obj, sid)
        if source == "fhir_folder":
            full_export(pair)
    else:
        raise ValueError(source)


def _practicehub(base: str, changes: Plan) -> None:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(base + path, json=body, timeout=120)
        r.raise_for_status()
        return dict(r.json())

    resources = {"patient": "patients", "appointment": "appointments", "invoice": "invoices",
                 "document": "files"}
    for obj, sid, fields in changes.sets:
        assert post("/_sandbox/set", {"resource": resources[obj], "id": sid,
                                      "fields": fields})["updated"], (obj, sid)
    for obj, sid in changes.deletes:
        got = post("/_sandbox/mutate", {"resources": {resources[obj]: {"delete_ids": [sid]}}})
        assert [str(i) for i in got[resources[obj]]["deleted"]] == [sid], (obj, sid)
    for obj, made in (("patient", changes.new_patient), ("document", changes.new_document)):
        if made is not None:
            got = post("/_sandbox/mutate", {"resources": {resources[obj]: {"creates": 1,
                                                                           "seed": 9}}})
            new_id = str(got[resources[obj]]["created"][0])
            assert new_id == made[0], (obj, new_id, made)


def to_folder(pair: Any) -> None:
    """Point ``pair``'s project at a folder holding a full export of its FHIR server (the
    ``fhir_folder`` source) and download that export into it."""
    from ferry.settings import ConnectorSettings, load_settings, save_settings

    path = pair.project.root / "fhir-export"
    full_export(pair)
    settings = load_settings(pair.project.root / "ferry.yaml")
    server = settings.source.model_dump()  # documents are fetched from the EHR by URL
    settings.source = ConnectorSettings(kind="fhir_bulk", mode="folder", path=str(path),
                                        base_url=server["base_url"],
                                        token_env=server["token_env"])
    save_settings(settings, pair.project.root / "ferry.yaml")


def full_export(pair: Any) -> None:
    """A full system-level ``$export`` downloaded as the clinic keeps it: every output file and
    the manifest, replacing the folder's previous export."""
    import json

    base = pair.source_info["base_url"]
    auth = {"Authorization": f"Bearer {pair.source_info['credentials']['token']}"}
    folder = pair.project.root / "fhir-export"
    r = httpx.get(base + "/$export", headers={**auth, "Prefer": "respond-async"}, timeout=60)
    assert r.status_code == 202, r.status_code
    status = r.headers["content-location"]
    while (r := httpx.get(status, headers=auth, timeout=60)).status_code in (202, 429):
        time.sleep(0.2)
    r.raise_for_status()
    manifest = r.json()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    seen: dict[str, int] = {}
    for out in manifest["output"]:
        n = seen[out["type"]] = seen.get(out["type"], -1) + 1
        body = httpx.get(out["url"], headers=auth, timeout=300)
        body.raise_for_status()
        (folder / f"{out['type']}.{n:03d}.ndjson").write_bytes(body.content)
    (folder / "manifest.json").write_text(json.dumps(manifest))
