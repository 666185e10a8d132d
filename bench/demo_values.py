"""``ferry demo`` for one source x destination pair, then its phones, dates and money read back
from the destination sandbox's own state and compared with the generated practice (not with
Ferry's staged records or reports, which is all ``sample`` and ``reconcile`` compare with).

    nice -n 19 .venv/bin/python bench/demo_values.py --source fhir --destination odoo \
        --seed 2718 --patients 150 [--delta] [--rows 12]

Checked, per record found in the destination by its source id:

* phones of patients, practitioners and clinics: each valid number of the person (parsed in the
  plan of where they are: their address, else their clinic's) must be there in E.164, and no
  E.164 number other than theirs (or their emergency contact's) may be on their record;
* a patient's date of birth (``swapped``: the date with day and month exchanged is there);
* an appointment's start (the same instant, or where only a date is kept the same day in UTC or,
  from PracticeHub and the generated exports, in the practice's zone);
  a Pipedrive activity's due date and time (UTC) must be that instant too;
* an appointment's fee and an invoice's amount (where the record keeps an amount), with the
  currency where the record names one.

With ``--delta`` the expected values are the practice as the clinic's staff left it: the
cutover's plan (``ferry.sandbox.cutover``, the changes the demo makes before its delta) applied
to the generated practice. Before, the check expected the values from before the delta: the
patient whose phone the plan edits had 'a valid phone not on its record' and 'a number not the
person's' although the destination held the new number, correctly read.

A patient merged with its planted duplicate (same email, or same name, birthday and phone) is one
person: a number of the duplicate on the merged record is the person's, not "a number not the
person's". A value ``ferry extract`` left out and listed (a birthday whose day and month cannot
be told apart) is counted apart as listed, not as lost.

An appointment whose start ``ferry extract`` listed as unsure (a clock time with no offset in
the hour the clocks went back or forward) is counted apart, not as wrong: it was read by the
stated rule and said.

Only ids and field names are printed (values are PHI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]

#: destination → canonical object → (normalized objects, source-id keys)
WHERE: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "pipedrive": {"patient": (("person",), ("cf:Ferry source ID",)),
                  "practitioner": (("person",), ("cf:Ferry source ID",)),
                  "clinic": (("organization",), ("cf:Ferry source ID",)),
                  "appointment": (("deal", "activity"), ("cf:Ferry source ID",)),
                  "invoice": (("deal",), ("cf:Ferry source ID (invoice)",))},
    "salesforce": {"patient": (("Contact",), ("Ferry_Source_Id__c",)),
                   "practitioner": (("Contact", "User"), ("Ferry_Source_Id__c",)),
                   "clinic": (("Account",), ("Ferry_Source_Id__c",)),
                   "appointment": (("Event", "Task"), ("Ferry_Source_Id__c",)),
                   "invoice": (("Invoice__c",), ("Ferry_Source_Id__c",))},
    "odoo": {"patient": (("res.partner",), ("x_ferry_source_id",)),
             "practitioner": (("res.partner", "res.users"), ("x_ferry_source_id",)),
             "clinic": (("res.partner",), ("x_ferry_clinic_id",)),
             "appointment": (("crm.lead", "mail.activity", "calendar.event"),
                             ("x_ferry_source_id",)),
             "invoice": (("account.move",), ("x_ferry_source_id",))},
}


def _flat(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [y for x in v.values() for y in _flat(x)]
    if isinstance(v, list):
        return [y for x in v for y in _flat(x)]
    return [v]


def values_of(rec: dict[str, Any]) -> list[Any]:
    return [x for k, v in rec.items() if k not in ("source_id",) for x in _flat(v)]


def index(norm: dict[str, dict[str, dict[str, Any]]], destination: str, obj: str
          ) -> dict[str, list[dict[str, Any]]]:
    objs, keys = WHERE[destination][obj]
    out: dict[str, list[dict[str, Any]]] = {}
    for o in objs:
        for ident, rec in norm.get(o, {}).items():
            if ident.startswith("ferry-id="):  # an activity or note: the id in its text
                out.setdefault(ident.split(" #")[0].split("=", 1)[1], []).append(rec)
                continue
            if obj == "clinic" and destination == "odoo" and not rec.get("is_company"):
                continue  # a person's x_ferry_clinic_id is the clinic it belongs to
            for k in keys:
                v = rec.get(k)
                if v not in (None, "", False):
                    out.setdefault(str(v), []).append(rec)
    return out


def e164(text: Any, plan: str | None) -> str | None:
    import phonenumbers

    if not isinstance(text, str) or not text.strip():
        return None
    try:
        num = phonenumbers.parse(text, plan)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def dest_numbers(rec: dict[str, Any]) -> set[str]:
    out = set()
    for x in values_of(rec):
        if isinstance(x, str) and x.startswith("+"):
            compact = "".join(c for c in x if c not in " -().")
            if compact[1:].isdigit() and 7 <= len(compact) <= 16:
                out.add(compact)
    return out


def _instant(x: Any) -> dt.datetime | None:
    if not isinstance(x, str) or len(x) < 16 or x[4:5] != "-" or x[10:11] not in ("T", " "):
        return None
    try:
        t = dt.datetime.fromisoformat(x.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)  # Odoo keeps naive UTC


def _due(rec: dict[str, Any]) -> dt.datetime | None:
    """A Pipedrive activity's ``due_date`` + ``due_time``: one instant in UTC (v1 spec)."""
    d, t = rec.get("due_date"), rec.get("due_time")
    if not (isinstance(d, str) and isinstance(t, str) and len(t) >= 5):
        return None
    return _instant(f"{d} {t[:5]}:00")


def _money(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        return float(x)
    return None


def listed_unsure(project_dir: Path) -> set[str]:
    """Appointments whose start ``ferry extract`` listed as a clock time in the hour the clocks
    repeat or skip (no offset in the source): read by the stated rule, possibly an hour off,
    and said (record and field), so not silently wrong. From the extract report (refs only)."""
    import json

    path = project_dir / "reports" / "extract" / "extract.json"
    if not path.exists():
        return set()
    return {p["ref"].rsplit(":", 1)[-1] for p in json.loads(path.read_text()).get("problems", [])
            if ":appointment:" in p["ref"] and p.get("field") == "start"
            and "the clocks went" in p.get("reason", "")}


def listed_empty(project_dir: Path) -> set[tuple[str, str, str]]:
    """(object, source id, field) of each value ``ferry extract`` left out and listed, the
    record kept (a date whose day and month cannot be told apart, a date not in ISO 8601)."""
    import json

    path = project_dir / "reports" / "extract" / "extract.json"
    if not path.exists():
        return set()
    out = set()
    for p in json.loads(path.read_text()).get("problems", []):
        parts = str(p.get("ref", "")).split(":")
        if p.get("stage") == "extract-field" and len(parts) == 3 and p.get("field"):
            out.add((parts[1], parts[2], str(p["field"])))
    return out


def twins(practice: Any) -> dict[str, set[str]]:
    """Patient id -> the ids of its planted duplicates (either way): one person's records."""
    out: dict[str, set[str]] = {}
    for kind in ("duplicate_email", "duplicate_person"):
        for dup, original in practice.ledger.pairs(kind).items():
            out.setdefault(dup, set()).add(original)
            out.setdefault(original, set()).add(dup)
    return out


def check(practice: Any, norm: Any, destination: str, source: str = "",
          unsure: set[str] | None = None, listed: set[tuple[str, str, str]] | None = None
          ) -> tuple[Counter[str], list[str]]:
    from ferry.mapping.phones import record_country

    c: Counter[str] = Counter()
    ex: list[str] = []
    unsure = unsure or set()
    listed = listed or set()

    def bad(kind: str, what: str) -> None:
        if kind in ("appointment start wrong", "appointment activity due wrong") \
                and what.split()[1].rstrip(":") in unsure:
            c["appointment start listed as unsure at extract (clock change)"] += 1
            return
        c[kind] += 1
        ex.append(what)

    clinics = {r.source_id: record_country(r) for r in practice.iter("clinic")}
    same = twins(practice)
    numbers_of: dict[str, set[str]] = {}  # a patient's own valid numbers, for its twins
    for r in practice.iter("patient"):
        plan = record_country(r) or clinics.get(r.clinic_id or "")
        numbers_of[r.source_id] = {n for t in (r.phone, r.mobile, r.work_phone)
                                   if (n := e164(t, plan))}
    # PracticeHub and the generated exports (clinic CSV, Pulse) give visits in the practice's
    # zone (its day is the visit's day there); FHIR gives them in UTC
    zone = ZoneInfo(practice.timezone if source in ("practicehub", "pulse", "clinic_csv")
                    else "UTC")
    for obj in ("patient", "practitioner", "clinic"):
        idx = index(norm, destination, obj)
        for r in practice.iter(obj):
            recs = idx.get(r.source_id)
            if not recs:
                c[f"{obj}: no own record"] += 1
                continue
            plan = record_country(r) or clinics.get(getattr(r, "clinic_id", None) or "")
            want = {n for t in (getattr(r, "phone", None), getattr(r, "mobile", None),
                                getattr(r, "work_phone", None)) if (n := e164(t, plan))}
            ec = getattr(r, "emergency_contact", None)
            allowed = want | ({n} if ec is not None and (n := e164(ec.phone, plan)) else set())
            if obj == "patient":  # merged with its duplicate: the duplicate's numbers are its
                allowed |= set().union(*(numbers_of.get(t, set())
                                         for t in same.get(r.source_id, ())))
            got = set().union(*(dest_numbers(x) for x in recs))
            c[f"{obj} phones checked"] += len(want)
            for _n in sorted(want - got):
                bad(f"{obj} phone lost", f"{obj} {r.source_id}: a valid phone not on its record")
            for n in sorted(got - allowed):
                bad(f"{obj} phone wrong", f"{obj} {r.source_id}: a number not the person's"
                    f" ({'same digits, other country code' if n[-7:] in {w[-7:] for w in want} else 'other'})")
            if obj == "patient" and r.date_of_birth is not None:
                c["patient birthdays checked"] += 1
                d = r.date_of_birth
                vals = {str(x)[:10] for x in values_of(recs[0]) if isinstance(x, str)}
                if d.isoformat() not in vals and ("patient", r.source_id,
                                                  "date_of_birth") in listed:
                    c["patient birthday left out, listed at extract"] += 1
                elif d.isoformat() not in vals:
                    swapped = d.day <= 12 and d.day != d.month and \
                        dt.date(d.year, d.day, d.month).isoformat() in vals
                    bad("patient birthday swapped" if swapped else "patient birthday lost",
                        f"patient {r.source_id}: date of birth"
                        f" {'with day and month swapped' if swapped else 'not found'}")
    for obj in ("appointment", "invoice"):
        idx = index(norm, destination, obj)
        for r in practice.iter(obj):
            recs = idx.get(r.source_id)
            if not recs:
                c[f"{obj}: no own record"] += 1
                continue
            vals = [x for rec in recs for x in values_of(rec)]
            if obj == "appointment" and r.start is not None:
                instants = [t for x in vals if (t := _instant(x)) is not None]
                dates = {x for x in vals if isinstance(x, str) and len(x) == 10 and x[4] == "-"}
                if instants:
                    c["appointment starts checked"] += 1
                    if r.start not in instants:
                        bad("appointment start wrong", f"appointment {r.source_id}: no value"
                            " at its start instant")
                elif dates:
                    c["appointment start dates checked"] += 1
                    if r.start.astimezone(dt.UTC).date().isoformat() not in dates and \
                            r.start.astimezone(zone).date().isoformat() not in dates:
                        bad("appointment start wrong", f"appointment {r.source_id}: no value"
                            " on its start date")
                for due in (t for rec in recs if (t := _due(rec)) is not None):
                    c["appointment activity due times checked"] += 1
                    if due != r.start:  # another value may hold the start: this one must too
                        bad("appointment activity due wrong", f"appointment {r.source_id}:"
                            " its activity is due at another instant")
            # a FHIR Appointment has no price element (R4): the fee is not in that source
            amount = (None if obj == "appointment" and source == "fhir" else
                      r.fee if obj == "appointment" else r.amount)
            numbers = [m for x in vals if (m := _money(x)) is not None]
            currencies = {str(rec[k]) for rec in recs for k in rec
                          if "currency" in k.lower() and isinstance(rec[k], str)
                          and len(rec[k]) == 3}
            if amount is not None and numbers:
                c[f"{obj} amounts checked"] += 1
                if not any(abs(float(amount) - m) < 0.005 for m in numbers):
                    bad(f"{obj} amount lost", f"{obj} {r.source_id}: amount not found")
            if r.currency and currencies:
                c[f"{obj} currencies checked"] += 1
                if r.currency not in currencies:
                    bad(f"{obj} currency wrong", f"{obj} {r.source_id}: currency differs")
    return c, ex


def expected_practice(seed: int, patients: int, *, delta: bool = False, source: str = "",
                      today: str | None = None) -> Any:
    """The practice the destination should hold: the generated one, with ``--delta`` the
    cutover's changes applied (the plan the demo draws from the same practice; ``today`` only
    dates a paid invoice, which is not checked). PracticeHub's sandbox makes the new patient
    with its own generator (``/_sandbox/mutate``), not as the plan's copy of a template: that
    one is not checked there."""
    from dataclasses import replace

    from ferry.sandbox import cutover
    from ferry.sandbox.synth import Practice

    practice = Practice(seed, patients)
    if not delta:
        return practice
    today = today or dt.datetime.now(dt.UTC).date().isoformat()
    plan = cutover.plan(practice, today, source in cutover.WITH_DOCUMENTS)
    if source == "practicehub":
        plan = replace(plan, new_patient=None, new_document=None)
    return cutover.Changed(practice, plan)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", default="practicehub",
                   choices=["practicehub", "pulse", "clinic_csv", "fhir"])
    p.add_argument("--destination", default="pipedrive",
                   choices=["pipedrive", "salesforce", "odoo"])
    p.add_argument("--seed", type=int, default=2718)
    p.add_argument("--patients", type=int, default=150)
    p.add_argument("--delta", action="store_true")
    p.add_argument("--rows", type=int, default=12)
    p.add_argument("--dir", type=Path, default=None)
    a = p.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    import truth

    from ferry.cli.app import build_app
    from ferry.cli.commands.demo import _invoke
    from ferry.sandbox import harness

    states: list[dict[str, Any]] = []
    stop = harness.Pair.stop

    def snapshot_then_stop(pair: Any) -> None:  # the demo stops its sandboxes at the end
        if pair.servers and not states:
            states.append(truth.dest_state(pair))
        stop(pair)

    harness.Pair.stop = snapshot_then_stop  # type: ignore[method-assign]
    work = a.dir or Path(f"/tmp/demo-values-{a.source}-{a.destination}-{a.seed}")
    t0 = time.process_time()
    load0 = __import__("os").getloadavg()[0]
    args = ["demo", "--source", a.source, "--destination", a.destination, "--seed",
            str(a.seed), "--patients", str(a.patients), "--dir", str(work)]
    code = _invoke(build_app(), [*args, *(["--delta"] if a.delta else [])])
    cpu = time.process_time() - t0
    norm = truth.normalize(states[0], a.destination)
    counts, ex = check(expected_practice(a.seed, a.patients, delta=a.delta, source=a.source),
                       norm, a.destination, a.source, listed_unsure(work),
                       listed_empty(work))
    print(f"\ndemo_values: {a.source} -> {a.destination} seed {a.seed}, {a.patients} patients:"
          f" demo exit {code}, {cpu:.1f} CPU-s, load {load0:.1f}-"
          f"{__import__('os').getloadavg()[0]:.1f}")
    for k in sorted(counts):
        print(f"  {k:<40} {counts[k]}")
    for line in ex[:a.rows]:
        print(f"    e.g. {line}")
    wrong = sum(n for k, n in counts.items() if k.endswith(("lost", "wrong", "swapped")))
    print(f"demo_values: {wrong} wrong or lost value(s)")
    return 1 if wrong or code else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
