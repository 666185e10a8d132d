"""A first migration of a clinic's own export (a UK practice: its own column names, day-first
dates, £ fees, phones without +44), as a newcomer meets it: a field name that does not exist in
``source.columns`` or a country code phones do not know is named by ``ferry check`` and
``ferry map`` instead of leaving the column unplaced or every number empty; the audit says when
no country is known; extract lists a column the whole file lacks once, not per row; the
sample's hints name the setting that fixes a difference; a rollback with nobody to answer its
question says how to run it. Command lines run through the CLI's entry point in this process
(the ``ferry`` fixture, tests/cli/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from ferry.cli.commands.extract import problem_lines
from ferry.engine.checks import phone_region, unknown_columns

CLIENTS = """Client Ref,Forename,Surname,Date of Birth,Mobile Tel,E-mail Address,Town,Postcode
10000,Ann,Example,27/06/1937,07700 900123,ann@example.co.uk,Bristol,BS1 8QT
10001,Bob,Example,20/01/1975,0117 496 0123,bob@example.co.uk,Bath,BA1 1AA
"""
BOOKINGS = """Booking Ref,Client Ref,Treatment,Date,Time,Fee
160000,10000,New Patient,03/05/2020,09:00,£105.00
160001,10001,Follow-up,04/05/2020,10:30,£45.00
"""
INVOICES = """Invoice No,Client Ref,Gross,Invoice Date
INV-1,10000,£105.00,03/05/2020
INV-2,10001,£45.00,04/05/2020
"""


def own_export(ferry, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    export.mkdir()
    (export / "Clients.csv").write_text(CLIENTS)
    (export / "Bookings.csv").write_text(BOOKINGS)
    (export / "Invoices.csv").write_text(INVOICES)
    root = tmp_path / "p"
    r = ferry("init", str(root), "--source", "clinic_csv", "--destination", "odoo",
              "--no-encrypt", "--set", f"source.path={export}", "--set",
              "destination.url=http://127.0.0.1:9", "--set", "destination.db=x",
              "--set", "destination.login=admin")
    assert r.returncode == 0, r.stderr
    # an option uncommented (as the file's header says to) leaves a file that loads
    assert "options: {}" not in (root / "ferry.yaml").read_text()
    return root


def flat(text: str) -> str:
    return " ".join(text.split())


def test_unknown_column_fields_and_a_bad_phone_region_are_named(ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = own_export(ferry, tmp_path)
    yaml = root / "ferry.yaml"
    text = yaml.read_text().replace("  # columns: {}", "  columns:\n    appointment:\n"
                                    "      Treatment: visit_type\n      Booking Ref: source_id\n"
                                    "    Clients.csv:\n      Client Ref: source_idd\n"
                                    "      Town: null")
    yaml.write_text(text.replace("  # phone_region: null", "  phone_region: UK"))
    r = ferry("check", "-p", str(root), env={"ODOO_API_KEY": "k"})
    assert r.returncode == 1, r.stderr
    rows = {c["name"]: c for c in json.loads(
        (root / "reports" / "check" / "check.json").read_text())["checks"]}
    names = rows["column names"]
    assert names["status"] == "FAIL"
    # the object's own field is suggested; a file key is checked against every object
    assert "appointment: 'Treatment' → appointment has no field 'visit_type'" \
           " (closest: appointment_type_id, type_name)" in names["detail"]
    assert "Clients.csv: 'Client Ref' → no object has a field 'source_idd'" in names["detail"]
    assert "Booking Ref" not in names["detail"] and "Town" not in names["detail"]
    region = rows["phone region"]
    assert region["status"] == "FAIL"
    assert "'UK' is not a country code with a numbering plan (did you mean GB?)" in \
        region["detail"]
    assert "options.phone_region" in region["fix"]

    # the map refuses before it proposes anything: the column would stay in the custom bag
    r = ferry("map", "-p", str(root), "--no-describe")
    assert r.returncode == 2
    err = flat(r.stderr)
    assert "source.columns names a field its object does not have" in err
    assert "appointment has no field 'visit_type'" in err and "ferry map --force" in err
    assert not (root / "mapping.yaml").exists()


def test_the_audit_says_when_no_country_is_known_and_extract_groups_a_missing_column(
        ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = own_export(ferry, tmp_path)
    r = ferry("extract", "-p", str(root))
    out = flat(r.stdout)
    # every invoice lacks a known amount column: one line for the file, its lines listed
    assert "skipped x2: Invoices.csv lines 2, 3: amount: Field required" in out
    assert "skipped: Invoices.csv line 2" not in out
    r = ferry("audit", "-p", str(root), "--no-describe")
    assert r.returncode == 0, r.stderr
    assert "hint: no country known for phone numbers" in flat(r.stdout)
    assert "set options.phone_region in ferry.yaml" in flat(r.stdout)
    # ferry check says the same once records are staged (WARN: nothing is broken yet)
    ferry("check", "-p", str(root), env={"ODOO_API_KEY": "k"})
    rows = {c["name"]: c for c in json.loads(
        (root / "reports" / "check" / "check.json").read_text())["checks"]}
    assert rows["phone region"]["status"] == "WARN"
    assert "no country known" in rows["phone region"]["detail"]
    yaml = root / "ferry.yaml"
    yaml.write_text(yaml.read_text().replace("  # phone_region: null", "  phone_region: GB"))
    r = ferry("audit", "-p", str(root), "--no-describe")
    assert "no country known" not in r.stdout


def test_unknown_columns_accepts_what_the_source_reads() -> None:
    ok = {"appointment": {"Date": "start", "Time": "_start_time", "Room": None,
                          "Ref": "source_id", "Old": "_not_migrated"},
          "people.csv": {"Name": "_full_name"}}
    assert unknown_columns({"columns": ok}) == []
    assert unknown_columns({"path": "x"}) is None  # a source without columns: no line
    # a file the user assigned to an object is checked against that object
    bad = unknown_columns({"columns": {"x.csv": {"Gross": "amout"}},
                           "files": {"x.csv": "invoice"}})
    assert bad == ["x.csv: 'Gross' → invoice has no field 'amout' (closest: amount)"]
    # nothing close: the object's fields are listed
    (line,) = unknown_columns({"columns": {"invoice": {"Fee": "price"}}}) or [""]
    assert line.startswith("invoice: 'Fee' → invoice has no field 'price' (its fields: amount,")


def test_phone_region_line_without_staged_records_and_with_a_known_code() -> None:
    def project(code: str | None, counts: dict[str, int]) -> SimpleNamespace:
        store = SimpleNamespace(counts=lambda: counts, iter_records=lambda obj: iter(()))
        return SimpleNamespace(settings=SimpleNamespace(options=SimpleNamespace(
            phone_region=code)), store=store)

    assert phone_region(project(None, {})) is None  # before extract: nothing to say yet
    assert phone_region(project("GB", {})).status == "ok"
    line = phone_region(project(None, {"patient": 2}))
    assert line.status == "WARN" and "e.g. GB" in line.fix


def test_problem_lines_group_one_reason_per_file() -> None:
    def skip(reason: str, stage: str = "extract") -> SimpleNamespace:
        return SimpleNamespace(reason=reason, stage=stage)

    lines = problem_lines([skip(f"a.csv line {n}: amount: Field required") for n in range(2, 9)]
                          + [skip("b.csv line 4: dob: not a date", "extract-field"),
                             skip("c.csv: not a table")])
    assert lines == ["skipped x7: a.csv lines 2, 3, 4, … 8: amount: Field required",
                     "kept: b.csv line 4: dob: not a date", "skipped: c.csv: not a table"]


def test_a_rollback_nobody_answers_says_to_use_yes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ferry.cli import app as cli
    from ferry.cli.commands import rollback

    proj = SimpleNamespace(settings=SimpleNamespace(
        destination=SimpleNamespace(kind="odoo")), store=None, audit=None)
    monkeypatch.setattr(rollback, "project_at", lambda path: proj)
    monkeypatch.setattr(rollback, "target_runs", lambda store, run: ["20261207T165059-run-1"])
    monkeypatch.setattr(rollback, "preview",
                        lambda audit, runs, destination="": {("delete", "crm.lead"): 229})

    def must_not_run(*a: object) -> None:
        raise AssertionError("rolled back without an answer")

    monkeypatch.setattr(rollback, "run_rollback", must_not_run)
    r = CliRunner().invoke(cli.build_app(["rollback"]), ["rollback", "-p", "clinic"],
                           input="", env={"COLUMNS": "80"})
    assert r.exit_code == 2, r.output
    out = flat(r.output)
    assert "Aborted" not in out
    assert "rollback not started: no answer to the question" in out
    assert "nothing was changed in odoo" in out
    assert "next: ferry rollback -p clinic --yes" in out


def test_the_sample_names_the_setting_that_explains_a_phone(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ferry.cli import app as cli
    from ferry.cli.commands import sample

    def diff_line(ref: str, mp: str, field: str, note: str) -> SimpleNamespace:
        return SimpleNamespace(category="missing", ref=ref, map=mp, field=field, note=note)

    unexplained = [
        diff_line("source:patient:1", "patient_partner", "mobile", "left empty: not a phone"
                  " number (no country known, no international prefix) (from mobile); fix it"
                  " at the source (in the skip file and the audit)"),
        diff_line("fold:billing_on_partner", "billing_on_partner", "custom:last_bill_vat",
                  "the stored value differs from what the map sent")]
    diff = SimpleNamespace(records=2, fields=[1, 2], unexplained=unexplained,
                           unexplained_skips=[], not_found=[], passed=False,
                           categories=lambda: {"missing": 2})
    proj = SimpleNamespace(settings=SimpleNamespace(
        options=SimpleNamespace(sample_size=5, fallback_owner_email="a@b.example"),
        project="p"), reports_dir=lambda verb: tmp_path)
    monkeypatch.setattr(sample, "project_at", lambda path: proj)
    monkeypatch.setattr(sample, "run_sample", lambda *a, **k: (
        SimpleNamespace(run_id="r1", stats={}), diff, {}))
    monkeypatch.setattr(sample, "report_data", lambda *a: {})
    monkeypatch.setattr(sample, "write_sample", lambda *a, **k: [])
    monkeypatch.setattr(sample, "stats_table", lambda *a, **k: "")
    r = CliRunner().invoke(cli.build_app(["sample"]), ["sample", "-p", "clinic"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 1, r.output
    out = flat(r.output)
    assert "set options.phone_region in ferry.yaml (e.g. GB), then sample again" in out
    assert "add `on_invalid: leave_out` under the field's line in mapping.yaml" in out
    # a folded map's difference names its map, not an empty object (".custom:…")
    assert "billing_on_partner.custom:last_bill_vat" in out
    assert " .custom:last_bill_vat" not in out


def test_a_proposed_map_says_how_to_settle_a_review_line(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ferry.cli import app as cli
    from ferry.cli.commands import map as map_cmd
    from ferry.engine import mapflow

    field = SimpleNamespace(status="review", source="custom.payer")
    doc = SimpleNamespace(objects=[SimpleNamespace(name="billing_on_partner", fields=[field])],
                          custom_fields={"res.partner": [1, 2]})
    store = SimpleNamespace(counts=lambda: {"invoice": 2})
    proj = SimpleNamespace(mapping_path=tmp_path / "mapping.yaml", store=store)
    monkeypatch.setattr(map_cmd, "project_at", lambda path: proj)
    monkeypatch.setattr(mapflow, "destination_schema", lambda p: (None, None))
    monkeypatch.setattr(mapflow, "propose", lambda *a, **k: doc)
    r = CliRunner().invoke(cli.build_app(["map"]), ["map", "-p", "clinic", "--no-columns"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    out = flat(r.output)
    assert "review: billing_on_partner: custom.payer" in out
    assert "settle each in mapping.yaml: keep or change its target and set `status: mapped`," \
           " or set `status: ignored` with a reason" in out


def test_status_says_what_deleted_staged_records_are(ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ferry.engine.mapflow import restage_moved
    from ferry.engine.project import Project

    root = own_export(ferry, tmp_path)
    assert ferry("extract", "-p", str(root)).returncode == 0
    yaml = root / "ferry.yaml"  # the key column placed after the first read (as ferry map does)
    yaml.write_text(yaml.read_text().replace(
        "  # columns: {}", "  columns:\n    patient:\n      Client Ref: source_id"))
    assert restage_moved(Project(root))["patient"] == 2
    r = ferry("status", "-p", str(root))
    out = flat(r.stdout)
    assert "deleted: staged records no longer in the source (deleted there, or read again" \
           " under a key column placed since), not records deleted in the destination" in out


def test_the_delta_verdict_counts_the_changes_its_report_lists(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ferry.cli import app as cli
    from ferry.cli.commands import delta

    # a row exported twice is staged twice: 4 rows staged, 3 source changes
    stats = SimpleNamespace(staged={"patient": 2, "invoice": 2})
    changes = {"total": 3, "applied": 3, "merged": 0, "held": 0, "excluded": 0, "refused": 0,
               "unaccounted": 0, "lines": []}
    report = SimpleNamespace(run_id="r1", stats={}, changes=changes)
    proj = SimpleNamespace(settings=SimpleNamespace(project="p"), reports_dir=lambda verb: ".")
    monkeypatch.setattr(delta, "project_at", lambda path: proj)
    monkeypatch.setattr(delta, "run_delta", lambda p, progress=None: (stats, report, 0))
    monkeypatch.setattr(delta, "stats_table", lambda *a, **k: "")
    monkeypatch.setattr(delta, "delta_report_data", lambda *a: {})
    monkeypatch.setattr(delta, "write_report", lambda *a, **k: [])
    r = CliRunner().invoke(cli.build_app(["delta"]), ["delta", "-p", "clinic"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    out = flat(r.output)
    assert "3 source change(s): applied 3" in out
    assert "the last took 3 source change(s), each accounted for" in out


def test_the_verb_list_says_what_extract_and_prepare_do(ferry) -> None:  # type: ignore[no-untyped-def]
    out = flat(ferry("--help").stdout.replace("│", " "))
    assert "extract Pull the source into the local staging store;" in out
    assert "prepare Create the custom fields, objects, pipelines and stages the map needs" in out
