"""Read a whole migration back from the destination sandbox and compare it with the truth, field
by field, after a run, a delta, a rollback, a second run.

    nice -n 19 .venv/bin/python bench/truth.py --source practicehub --destination pipedrive \
        --seed 101 --patients 50 [--scenario delta|rerun|rollback|resume|all] [--rows 12]

The truth of a scenario is what the source holds at its end: the generated practice with the
clinic's changes made during the cutover. It is checked two ways, neither of which reads Ferry's
staging store, id map or audit log:

* the **reference**: a second pair of sandboxes, started on the same seed, gets the same changes
  *before* anything is extracted, and is migrated once, fresh (a full run has been checked
  against the generated practice by hand, issue 15). The scenario's destination must hold what
  the reference's holds: the same records (by their source ids) with the same values in every
  field. A delta that leaves an old value, loses one, or makes a duplicate shows as a row of the
  per-field table (``wrong`` / ``lost`` / ``extra``);
* the **edits**: each value the clinic changed (a phone, an email, an address, a cancelled visit,
  a paid invoice...) is looked for as the source now holds it in the destination's record,
  read by its source id (``edits`` rows).

A rollback must give back the account as it was before the run (``rollback`` rows), and a run
after the rollback must equal the reference again (``resume``).

The changes (``truth_sources``: one plan, made the way each source system shows it: REST
records edited and deleted in PracticeHub or Pulse, a newer export's files in the folder for
the Pulse export and a clinic CSV export, changed resources and ``deleted`` bundles on the FHIR
Bulk Data server): a new patient, an edited phone / email / address / name with accents, an
emptied optional field, a cancelled appointment, a paid invoice, a credit note and a zero
invoice, a same-email pair split, a new document (PracticeHub, FHIR), a deleted patient and a
deleted appointment. ``ferry`` verbs run as a user runs them (``build_app``), the demo's
reviewer settling review lines.

Volatile values are left out of the comparison: record ids (references are compared by the
source id of the record they point at), create/update stamps and today's timestamps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
FERRY_ID = re.compile(r"\[ferry-id:(?:[A-Za-z0-9_]+=)?([^\]]+)\]")
#: record keys whose values change from account to account or run to run
VOLATILE = {"id", "Id", "add_time", "update_time", "stage_change_time", "marked_as_done_time",
            "create_date", "write_date", "create_uid", "write_uid", "CreatedDate",
            "LastModifiedDate", "SystemModstamp", "CreatedById", "LastModifiedById",
            "creator_user_id", "user_id_creator", "first_char", "attributes", "url",
            "VersionData", "ContentDocumentId", "LatestPublishedVersionId", "checksum",
            "store_fname", "access_token", "file_path", "remote_url", "ContentBodyId",
            "LastViewedDate", "LastReferencedDate", "IsDeleted", "is_deleted", "message_ids",
            "attachment_ids", "local_path", "name_hash", "remote_id"}
TODAY = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


# ------------------------------------------------------------------ running a pair as a user


def _verbs() -> Any:
    from ferry.cli.app import build_app

    return build_app()


def verb(pair: Any, *args: str) -> int:
    from ferry.cli.commands.demo import _invoke, _settle_reviews

    if args[:2] == ("map", "--confirm"):
        _settle_reviews(pair.project.mapping_path)
    return _invoke(_verbs(), [*args, "-p", str(pair.project.root)])


def start(work: Path, name: str, a: argparse.Namespace) -> tuple[Any, Any]:
    """A pair and its source's sandbox object (None for an export folder): the clinic's
    changes are made in it as the system itself would hold them (``truth_sources``)."""
    from truth_sources import SOURCES

    from ferry.sandbox import registry
    from ferry.sandbox.harness import start_pair

    source, surface = SOURCES[a.source]
    built: list[Any] = []
    build = registry.build

    def keep(kind: str, options: Any) -> Any:
        built.append(sb := build(kind, options))
        return sb

    dest_extra = {"plan": "ultimate", "seats": 10} if a.destination == "pipedrive" else {}
    registry.build = keep
    try:
        pair = start_pair(work / name, source=source, destination=a.destination,
                          patients=a.patients, seed=a.seed, time_scale=a.time_scale,
                          surface=a.surface or surface, dest_extra=dest_extra,
                          env_prefix=f"FERRY_TRUTH_{name.upper()}_")
    finally:
        registry.build = build
    if a.source == "fhir_folder":
        from truth_sources import to_folder

        to_folder(pair)
    return pair, (built[0] if len(built) > 1 else None)


def first_run(pair: Any) -> dict[str, int]:
    out = {}
    for args in (("check",), ("extract",), ("audit",), ("map",),
                 ("map", "--confirm", "--by", "bench/truth.py"), ("prepare",), ("run",)):
        out[" ".join(args[:2])] = verb(pair, *args)
    return out


def dest_state(pair: Any) -> dict[str, Any]:
    info = pair.dest_info
    verify = (info.get("credentials") or {}).get("ca_bundle") or False
    r = httpx.get(info["base_url"] + "/_sandbox/state", timeout=300, verify=verify)
    r.raise_for_status()
    return r.json()


# ------------------------------------------------------------------ the clinic's changes


def edits(pair: Any, source: str, sandbox: Any) -> list[tuple[str, str, str, Any]]:
    """Change the source as staff would during the cutover, the way that system shows it
    (``truth_sources``); returns what each change expects to find: (object, source id,
    canonical field, value now) - ``None``: the record is gone."""
    from truth_sources import WITH_DOCUMENTS, apply, plan

    changes = plan(pair.practice, TODAY, source in WITH_DOCUMENTS)
    apply(pair, source, sandbox, changes)
    return changes.wanted


# ------------------------------------------------------------------ normalizing a destination


Rec = dict[str, Any]
Norm = dict[str, dict[str, Rec]]  # object → identity → {field: value}


def normalize(state: dict[str, Any], destination: str) -> Norm:
    return {"pipedrive": _pipedrive, "odoo": _odoo, "salesforce": _salesforce}[destination](
        state)


def _ident(values: Rec, fallback: str) -> str:
    for k in sorted(values):
        if "source id" in k.lower() or k.lower().startswith(("x_ferry_", "ferry_")) or \
                k.endswith(("Ferry_Source_Id__c", "Ferry_Id__c")):
            if values[k] not in (None, "", False):
                return f"{k}={values[k]}"
    for v in values.values():
        if isinstance(v, str) and (m := FERRY_ID.search(v)):
            return f"ferry-id={m.group(1)}"
    return fallback


def _volatile(k: str, v: Any) -> bool:
    return k in VOLATILE or (isinstance(v, str) and v.startswith(TODAY))


def _uniq(out: dict[str, Rec], ident: str, values: Rec) -> None:
    n, key = 1, ident
    while key in out:
        n += 1
        key = f"{ident} #{n}"
    out[key] = values


def _pipedrive(state: dict[str, Any]) -> Norm:
    labels: dict[str, str] = {}
    options: dict[tuple[str, Any], str] = {}
    for fields in state["fields"].values():
        for f in fields:
            if f.get("is_deleted"):
                continue
            labels[str(f["field_code"])] = str(f["field_name"])
            for o in f.get("options") or []:
                options[(str(f["field_code"]), o.get("id"))] = str(o.get("label"))
    users = {u["id"]: u.get("email") for u in state["users"]}
    named = {"pipeline_id": {p["id"]: p["name"] for p in state["pipelines"]},
             "stage_id": {s["id"]: s["name"] for s in state["stages"]},
             "owner_id": users, "user_id": users}
    recs = state["records"]
    live = {obj: [r for r in rows if not r.get("is_deleted")
                  and r.get("active_flag", True) is not False] for obj, rows in recs.items()}

    def flat(r: Rec) -> Rec:
        out = {k: v for k, v in r.items() if k != "custom_fields"}
        for k, v in (r.get("custom_fields") or {}).items():
            label = labels.get(k, k)
            if isinstance(v, list):
                v = sorted(str(options.get((k, x), x)) for x in v)
            elif not isinstance(v, dict):
                v = options.get((k, v), v)
            out[f"cf:{label}"] = v
        return out

    flats = {obj: {r["id"]: flat(r) for r in rows} for obj, rows in live.items()}
    ident = {obj: {i: _ident(v, f"{v.get('name') or v.get('title') or v.get('subject')}")
                   for i, v in rows.items()} for obj, rows in flats.items()}
    refs = {"person_id": "person", "org_id": "organization", "deal_id": "deal"}
    out: Norm = {}
    for obj, rows in flats.items():
        table: dict[str, Rec] = {}
        for i, v in rows.items():
            values: Rec = {}
            for k, x in v.items():
                if _volatile(k, x):
                    continue
                if k in refs and x is not None:
                    x = ident.get(refs[k], {}).get(x, f"? {refs[k]} {x}")
                elif k in named and x is not None:
                    x = named[k].get(x, x)
                elif k.endswith("(IDs)") and isinstance(x, str):  # person ids as text
                    x = ", ".join(ident["person"].get(int(y), y) if y.strip().isdigit() else y
                                  for y in x.split(", "))
                elif k == "participants" and isinstance(x, list):
                    x = sorted(ident["person"].get(p.get("person_id"), "?") for p in x)
                values[k] = x
            me = ident[obj][i]
            if obj == "file":
                me = f"{values.get('name')} on {values.get('person_id') or values.get('deal_id')}"
            _uniq(table, me, values)
        out[obj] = table
    return out


def _odoo(state: dict[str, Any]) -> Norm:
    models = state["models"]
    rel: dict[tuple[str, str], str] = {}
    for f in models.get("ir.model.fields", {}).values():
        if f.get("ttype") in ("many2one", "many2many", "one2many") and f.get("relation"):
            rel[(f["model"], f["name"])] = f["relation"]
    skip = ("ir.", "res.country", "res.currency", "res.groups", "mail.message.subtype")

    def live(model: str) -> dict[str, Rec]:
        return {str(i): r for i, r in models.get(model, {}).items()
                if r.get("active", True) is not False}

    ident: dict[str, dict[Any, str]] = {}
    for model, rows in models.items():
        ident[model] = {}
        for i, r in rows.items():
            name = r.get("login") or r.get("name") or r.get("code") or r.get("display_name")
            ident[model][int(i)] = _ident(r, f"{name}")
    out: Norm = {}
    for model in models:
        if model.startswith(skip):
            continue
        table: dict[str, Rec] = {}
        for i, r in live(model).items():
            values: Rec = {}
            for k, x in r.items():
                if _volatile(k, x):
                    continue
                if k.endswith("related_persons") and isinstance(x, str):  # ids as text
                    x = ", ".join(ident["res.partner"].get(int(y), y) if y.strip().isdigit()
                                  else y for y in x.split(", "))
                target = rel.get((model, k))
                if k == "res_id" and r.get("res_model"):
                    target = r["res_model"]
                if target and isinstance(x, int) and not isinstance(x, bool):
                    x = ident.get(target, {}).get(x, f"? {target} {x}")
                elif target and isinstance(x, list):
                    x = sorted(ident.get(target, {}).get(y, f"? {y}") for y in x)
                values[k] = x
            me = ident[model][int(i)]
            if model == "ir.attachment":
                me = f"{values.get('name')} on {values.get('res_id')}"
            _uniq(table, me, values)
        out[model] = table
    return out


def _salesforce(state: dict[str, Any]) -> Norm:
    objects = state["objects"]

    def rows_of(v: Any) -> list[Rec]:
        return list(v.values()) if isinstance(v, dict) else list(v)

    ident: dict[str, str] = {}
    for obj, rows in objects.items():
        for r in rows_of(rows):
            if isinstance(r, dict) and r.get("Id"):
                name = r.get("Name") or r.get("Subject") or r.get("Title") or r.get("Email")
                ident[str(r["Id"])] = f"{obj}:{_ident(r, str(name))}"
    out: Norm = {}
    for obj, rows in objects.items():
        if obj in SF_SETUP:
            continue
        table: dict[str, Rec] = {}
        for r in rows_of(rows):
            if not isinstance(r, dict) or r.get("IsDeleted"):
                continue
            values: Rec = {}
            for k, x in r.items():
                if _volatile(k, x):
                    continue
                if isinstance(x, str) and x in ident and k != "Id":
                    x = ident[x]
                values[k] = x
            me = ident.get(str(r.get("Id")), "?").split(":", 1)[-1]
            if obj in ("ContentVersion", "ContentDocument"):
                me = f"{values.get('Title')} on {values.get('FirstPublishLocationId')}"
            elif obj == "ContentDocumentLink":  # no id of its own: the file and its record
                me = f"{values.get('ContentDocumentId')} on {values.get('LinkedEntityId')}"
            _uniq(table, me, values)
        out[obj] = table
    return out


# ------------------------------------------------------------------ comparing


#: records and values the last ``compare`` read on both sides (printed with its table)
COMPARED: Counter[str] = Counter()


def compare(want: Norm, got: Norm) -> tuple[Counter[tuple[str, str, str]], list[str]]:
    """(object, field, wrong|lost|extra) → count, and a few example lines (no values: the
    fields may hold PHI; ids and field names only)."""
    table: Counter[tuple[str, str, str]] = Counter()
    examples: list[str] = []
    COMPARED.clear()
    for obj in sorted(set(want) | set(got)):
        w, g = want.get(obj, {}), got.get(obj, {})
        for ident in sorted(set(w) - set(g)):
            table[(obj, "(record)", "lost")] += 1
            examples.append(f"{obj} {ident}: lost")
        for ident in sorted(set(g) - set(w)):
            table[(obj, "(record)", "extra")] += 1
            examples.append(f"{obj} {ident}: extra")
        for ident in sorted(set(w) & set(g)):
            a, b = w[ident], g[ident]
            COMPARED["records"] += 1
            for k in sorted(set(a) | set(b)):
                x, y = a.get(k), b.get(k)
                COMPARED["values"] += 1
                if _same(x, y):
                    continue
                kind = ("lost" if y in (None, "", [], False) else
                        "extra" if x in (None, "", [], False) else "wrong")
                table[(obj, k, kind)] += 1
                examples.append(f"{obj} {ident}: {k} {kind}")
    return table, examples


def schema_view(state: dict[str, Any], destination: str) -> dict[str, set[str]]:
    """What ``prepare`` can make or change in the account, item by item as text: custom fields
    with their options, pipelines, stages, activity types (Pipedrive); ``x_`` fields, their
    selection values and custom models (Odoo, whose ``ir.`` models ``normalize`` leaves out);
    custom fields and objects and the permission sets opened for them (Salesforce). A
    rollback must give it back as it was: the records' comparison cannot see a field option
    left behind."""
    if destination == "pipedrive":
        pipes = {p["id"]: p["name"] for p in state["pipelines"] if not p.get("is_deleted")}
        return {"field": {f"{o}.{f['field_name']} ({f['field_type']}):"
                          f" {sorted(str(x.get('label')) for x in f.get('options') or [])}"
                          for o, fs in state["fields"].items() for f in fs
                          if not f.get("is_deleted")},
                "pipeline": set(pipes.values()),
                "stage": {f"{pipes.get(s['pipeline_id'], '?')}/{s['name']}"
                          for s in state["stages"] if not s.get("is_deleted")},
                "activity type": {t["name"] for t in state["activity_types"]
                                  if t.get("active_flag", True)}}
    if destination == "odoo":
        models = state["models"]
        fields = {f["id"]: f for f in models.get("ir.model.fields", {}).values()}
        return {"field": {f"{f['model']}.{f['name']} ({f.get('ttype')})"
                          for f in fields.values() if f.get("state") == "manual"},
                "option": {f"{f.get('model')}.{f.get('name')}: {s.get('value')}"
                           for s in models.get("ir.model.fields.selection", {}).values()
                           if (f := fields.get(s.get("field_id"), {})).get("state") == "manual"},
                "model": {m["model"] for m in models.get("ir.model", {}).values()
                          if m.get("state") == "manual"}}
    perms = state["permissions"]
    return {"custom": {f"{o}.{f}" for o, m in state["custom_metadata"].items()
                       for f in [*m["fields"], "(object)" if m.get("custom_object") else ""]
                       if f},
            "permission set": {str(p.get("Name")) for p in perms["permission_sets"]},
            "assignment": {f"{len(perms['assignments'])} assignment(s)"}}


def compare_schema(before: dict[str, set[str]], after: dict[str, set[str]]
                   ) -> tuple[Counter[tuple[str, str, str]], list[str]]:
    table: Counter[tuple[str, str, str]] = Counter()
    examples: list[str] = []
    for kind in sorted(set(before) | set(after)):
        b, a = before.get(kind, set()), after.get(kind, set())
        for item in sorted(a - b):
            table[("schema", kind, "extra")] += 1
            examples.append(f"schema {kind} {item.split(':')[0]}: extra")
        for item in sorted(b - a):
            table[("schema", kind, "lost")] += 1
            examples.append(f"schema {kind} {item.split(':')[0]}: lost")
    return table, examples


def _same(x: Any, y: Any) -> bool:
    empty = (None, "", [], {}, False)
    if x in empty and y in empty:
        return True
    if isinstance(x, float) or isinstance(y, float):
        try:
            return abs(float(x) - float(y)) < 0.005
        except (TypeError, ValueError):
            return False
    return bool(x == y)


#: (destination, source object) → the destination objects and source-id keys its records carry
#: (an object not listed, e.g. Odoo's invoices folded onto the partner, has no record to read)
WHERE = {
    ("pipedrive", "patient"): [("person", "cf:Ferry source ID")],
    # a map may make an appointment an activity (the clinic exports' proposals): its id is in
    # the note's [ferry-id:...] trailer
    ("pipedrive", "appointment"): [("deal", "cf:Ferry source ID"), ("activity", "ferry-id")],
    ("pipedrive", "invoice"): [("deal", "cf:Ferry source ID (invoice)")],
    ("odoo", "patient"): [("res.partner", "x_ferry_source_id")],
    ("odoo", "appointment"): [("crm.lead", "x_ferry_source_id"),
                              ("mail.activity", "x_ferry_source_id"),
                              ("mail.activity", "ferry-id"), ("calendar.event", "ferry-id"),
                              ("calendar.event", "x_ferry_source_id")],
    ("salesforce", "patient"): [("Contact", "Ferry_Source_Id__c")],
    ("salesforce", "appointment"): [("Event", "Ferry_Source_Id__c"),
                                    ("Task", "Ferry_Source_Id__c")],
    ("salesforce", "invoice"): [("Invoice__c", "Ferry_Source_Id__c")],
}
#: Salesforce setup records (permissions of the fields prepare made): no migrated data
SF_SETUP = {"FieldPermissions", "ObjectPermissions", "PermissionSet", "PermissionSetAssignment",
            "Profile", "User", "RecordType", "Group", "UserRole"}


def find_edit(norm: Norm, destination: str, obj: str, sid: str) -> list[tuple[str, Rec]] | None:
    """The destination records that carry this source record's id (None: none to read)."""
    where = WHERE.get((destination, obj))
    if where is None:
        return None
    return [(o, values) for o, key in where for ident, values in norm.get(o, {}).items()
            if ident.split(" #")[0] == f"{key}={sid}"]


def check_edits(norm: Norm, destination: str, wanted: list[tuple[str, str, str, Any]]
                ) -> list[str]:
    problems = []
    for obj, sid, field, value in wanted:
        hits = find_edit(norm, destination, obj, sid)
        if hits is None:
            continue
        if field == "*":
            if hits:
                problems.append(f"{obj} {sid} deleted at the source, still in"
                                f" {sorted({o for o, _ in hits})}")
            continue
        if not hits:
            problems.append(f"{obj} {sid}: no destination record")
            continue
        text = " ".join(str(v) for _, rec in hits for v in rec.values()
                        if not isinstance(v, dict | list)) + " " + " ".join(
            str(x) for _, rec in hits for v in rec.values() if isinstance(v, dict | list)
            for x in (v.values() if isinstance(v, dict) else v))
        if value is None:
            continue  # an emptied field: the reference comparison sees it
        if field == "status" and value == "cancelled":
            ok = re.search(r"cancel", text, re.I) is not None
        elif field == "status" and value == "paid":
            ok = re.search(r"\bpaid\b|\bwon\b", text, re.I) is not None
        else:
            ok = str(value).lower() in text.lower()
        if not ok:
            problems.append(f"{obj} {sid}: {field} as the source holds it now not found")
    return problems


def print_table(title: str, table: Counter[tuple[str, str, str]], examples: list[str],
                rows: int) -> None:
    print(f"\n== {title}: {sum(table.values())} difference(s) ({COMPARED['records']} records,"
          f" {COMPARED['values']} values compared)")
    if not table:
        return
    by: dict[tuple[str, str], Counter[str]] = {}
    for (obj, field, kind), n in table.items():
        by.setdefault((obj, field), Counter())[kind] += n
    print(f"  {'object':<22} {'field':<44} wrong  lost extra")
    for (obj, field), c in sorted(by.items()):
        print(f"  {obj:<22} {field[:44]:<44} {c['wrong']:>5} {c['lost']:>5} {c['extra']:>5}")
    for line in examples[:rows]:
        print(f"    e.g. {line}")


# ------------------------------------------------------------------ scenarios


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", default="practicehub",
                   choices=["practicehub", "pulse", "pulse_export", "clinic_csv", "fhir",
                            "fhir_folder"])
    p.add_argument("--surface", choices=["documented", "extended"], default=None,
                   help="the sandboxes' surface (default: extended for practicehub and pulse's"
                        " REST mode, documented for the others)")
    p.add_argument("--destination", default="pipedrive",
                   choices=["pipedrive", "salesforce", "odoo"])
    p.add_argument("--seed", type=int, default=101)
    p.add_argument("--patients", type=int, default=50)
    p.add_argument("--time-scale", type=float, default=200.0)
    p.add_argument("--scenario", default="all",
                   choices=["delta", "rerun", "rollback", "resume", "all"])
    p.add_argument("--rows", type=int, default=12, help="example lines per table")
    p.add_argument("--work", type=Path, default=Path(f"/tmp/truth-{os.getpid()}"))
    p.add_argument("--keep", action="store_true", help="keep the project folders (--work)")
    a = p.parse_args()
    from truth_sources import SOURCES

    t0 = time.process_time()
    a.work.mkdir(parents=True, exist_ok=True)
    print(f"truth: {a.source} -> {a.destination}, seed {a.seed}, {a.patients} patients,"
          f" surface {a.surface or SOURCES[a.source][1]},"
          f" load {os.getloadavg()[0]:.1f}")
    bad = 0
    try:
        ref, ref_src = start(a.work, "reference", a)
        try:
            empty_state = dest_state(ref)
            empty = normalize(empty_state, a.destination)
            wanted = edits(ref, a.source, ref_src)
            print("changes: " + ", ".join(f"{o} {i} {f}" for o, i, f, _ in wanted))
            codes = first_run(ref)
            assert not any(codes.values()), f"reference run: {codes}"
            reference = normalize(dest_state(ref), a.destination)
            problems = check_edits(reference, a.destination, wanted)
            print(f"reference (changes made before a fresh run): {len(problems)} edit(s) not"
                  " found" + "".join(f"\n    {x}" for x in problems))
            bad += len(problems)
        finally:
            ref.close()
        pair, pair_src = start(a.work, "cutover", a)
        try:
            codes = first_run(pair)
            assert not any(codes.values()), f"first run: {codes}"
            if a.scenario in ("rerun", "all"):
                first = normalize(dest_state(pair), a.destination)
                code = verb(pair, "run")
                table, ex = compare(first, normalize(dest_state(pair), a.destination))
                print_table(f"a second full run, nothing changed (exit {code}), against the"
                            " first", table, ex, a.rows)
                bad += sum(table.values()) + bool(code)
            wanted = edits(pair, a.source, pair_src)
            print("changes: " + ", ".join(f"{o} {i} {f}" for o, i, f, _ in wanted))
            code_d = verb(pair, "delta")
            code_r = verb(pair, "reconcile")
            got = normalize(dest_state(pair), a.destination)
            table, ex = compare(reference, got)
            problems = check_edits(got, a.destination, wanted)
            print(f"delta exit {code_d}, reconcile after delta exit {code_r}")
            print_table("after run + changes + delta, against the reference", table, ex,
                        a.rows)
            print(f"edits not found after the delta: {len(problems)}"
                  + "".join(f"\n    {x}" for x in problems))
            bad += sum(table.values()) + len(problems) + bool(code_d) + bool(code_r)
            if a.scenario in ("rerun", "all"):
                code = verb(pair, "run")
                again = normalize(dest_state(pair), a.destination)
                table, ex = compare(got, again)
                print_table(f"a second full run after the delta (exit {code}) against the"
                            " state before it", table, ex, a.rows)
                bad += sum(table.values())
            if a.scenario in ("rollback", "resume", "all"):
                code = verb(pair, "rollback", "--yes")
                back_state = dest_state(pair)
                back = normalize(back_state, a.destination)
                table, ex = compare(empty, back)
                more, more_ex = compare_schema(schema_view(empty_state, a.destination),
                                               schema_view(back_state, a.destination))
                table.update(more)
                ex = more_ex + ex
                print_table(f"rollback (exit {code}) against the account before the run",
                            table, ex, a.rows)
                bad += sum(table.values()) + bool(code)
            if a.scenario in ("resume", "all"):  # rollback removed the schema it made
                code = verb(pair, "prepare") or verb(pair, "run")
                code_r = verb(pair, "reconcile")
                table, ex = compare(reference, normalize(dest_state(pair), a.destination))
                print_table(f"run after the rollback (exit {code}, reconcile {code_r})"
                            " against the reference", table, ex, a.rows)
                bad += sum(table.values()) + bool(code)
        finally:
            pair.close()
    finally:
        if not a.keep:
            shutil.rmtree(a.work, ignore_errors=True)
    print(f"\ntruth: {bad} problem(s); {time.process_time() - t0:.1f} CPU-s in this process,"
          f" load {os.getloadavg()[0]:.1f}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
