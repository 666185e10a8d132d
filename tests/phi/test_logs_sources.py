"""PHI never reaches logs, the console, tracebacks, the skip file or the reports, on the paths
this session added: clock-change listings (clinic CSV, FHIR naive times), State/ZIP country
inference and the audit's ``phone_country_conflict`` / ``unknown_country`` lines, assumed
appointment lengths, links emptied after a deletion, odd currencies, bad dates. Hand-written
exports (``canary_exports``) whose every patient value is a canary go through the real verbs
against local destination sandboxes at DEBUG, and every output is searched for the canaries.

``ferry review`` without options is left out of the console search: it is the PHI review queue,
and showing the flagged text to the person who decides is its purpose."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
import yaml
from dateutil import parser as dateparser
from tests.phi.canary_exports import (
    clinic_export,
    drop_patient,
    fhir_drop_patient,
    fhir_export,
    leaks,
)

from ferry.phi import scrub
from ferry.sandbox.harness import start_pair

TEXT_FILES = {".json", ".html", ".jsonl", ".csv", ".txt", ".log", ".yaml", ".md"}

# an unexpected failure in a verb, as a library raises it: quoting the value it choked on
CRASH = """
import os, sys
from ferry.cli import app as a
def boom():
    row = open(os.environ["CANARY_ROW"], encoding="utf-8").read().splitlines()[2]
    try:
        int(row.split(",")[5])  # a surname where a number was expected
    except ValueError as exc:
        raise KeyError(row.split(",")[14]) from exc  # a town as a missing key
a.app.command("boom")(boom)
a.main()
"""


# as variables: a traceback shows the lines of code it passes, and product code holds no values
NAME, TOWN, NOTE, STREET = "Quillonia Vexbridge-Okafor", "Marrowdale", "Zorblatt NW3 7QX", "Thornquill"
DOB = "31/02/1980"  # dateutil: 'day is out of range for month: 31/02/1980', unquoted


class _Strict(pydantic.BaseModel):
    age: int


def _raised(fn) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("did not raise")


def test_library_exceptions_show_the_shape_of_what_they_quote() -> None:
    """``int('Quillonia …')``, ``KeyError('Marrowdale')``, pydantic's input_value, dateutil's
    unquoted 'Unknown string format: …': the
    detector sees no name, town or postcode in them; the unexpected-failure line, the
    FERRY_DEBUG traceback and the log filter showed them as written."""
    excs = [_raised(lambda: int(NAME)), _raised(lambda: {}[TOWN]),
            _raised(lambda: _Strict(age=NOTE)), _raised(lambda: dateparser.parse(NAME)),
            _raised(lambda: dateparser.parse(DOB))]
    try:
        try:
            int(STREET)
        except ValueError as inner:
            raise RuntimeError(f"could not read the row: {inner}") from inner
    except RuntimeError as exc:
        excs.append(exc)
    for exc in excs:
        line = scrub.safe_error(exc)
        assert type(exc).__name__ in line and not leaks(line), line
        tb = scrub.safe_traceback(exc)
        assert "Traceback" in tb and "test_logs_sources.py" in tb and not leaks(tb), tb
    assert "'Xxxxxxxxx Xxxxxxxxx-Xxxxxx'" in scrub.safe_error(excs[0])  # its shape: debuggable
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(scrub.ScrubFilter())
    logger = logging.getLogger("ferry.test.canary")
    logger.addHandler(handler)
    try:
        for exc in excs:
            try:
                raise exc
            except Exception:  # noqa: BLE001
                logger.exception("write failed for source:patient:9001")
    finally:
        logger.removeHandler(handler)
    text = " ".join(r.getMessage() for r in records)
    assert "source:patient:9001" in text and not leaks(text), text


def _hunt(tmp_path: Path, source: str, destination: str) -> tuple[dict[str, list[str]], str]:
    """Every verb on the canary export; {output: canaries it quotes}, and the console."""
    with start_pair(tmp_path / "sb", source="clinic_csv", destination=destination,
                    patients=2, seed=3, time_scale=500, env_prefix="FERRY_CANARY_") as pair:
        exp = (clinic_export if source == "clinic_csv" else fhir_export)(tmp_path / "export")
        sets = [f"source.path={exp}", "source.timezone=America/New_York",
                "options.default_appointment_minutes=30",
                "options.fallback_owner_email=migration.owner@clinic.example"]
        if source == "fhir_bulk":
            sets.append("source.mode=folder")
        dest = yaml.safe_load((tmp_path / "sb" / "ferry.yaml").read_text())["destination"]
        sets += [f"destination.{k}={v}" for k, v in dest.items()
                 if k not in ("kind", "api_version") and v is not None]
        log = tmp_path / "ferry.log"
        env = {**os.environ, **pair.env, "FERRY_LOG_LEVEL": "DEBUG", "FERRY_LOG_FILE": str(log),
               "FERRY_DEBUG": "1", "COLUMNS": "200"}
        proj = tmp_path / "proj"
        console: list[tuple[str, str]] = []

        def ferry(*args: str, project: bool = True) -> subprocess.CompletedProcess[str]:
            argv = [sys.executable, "-m", "ferry", *args, *(["-p", str(proj)] if project else [])]
            p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
            console.append((" ".join(args[:2]), p.stdout + p.stderr))
            return p

        init = ferry("init", str(proj), "--source", source, "--destination", destination,
                     *[a for s in sets for a in ("--set", s)], project=False)
        assert init.returncode == 0, init.stdout + init.stderr
        settings = yaml.safe_load((proj / "ferry.yaml").read_text())
        env[settings["options"]["encryption_key_env"]] = pair.env["FERRY_CANARY_ENCRYPTION_KEY"]
        assert ferry("check", "--baa-by", "DPO", "--baa-ref", "BAA-1").returncode == 0
        assert ferry("map").returncode == 0
        if source == "clinic_csv":  # the map leaves 'Country' to review: the user places it
            text = (proj / "ferry.yaml").read_text()
            (proj / "ferry.yaml").write_text(text.replace("      Country:\n",
                                                          "      Country: country\n"))
        assert ferry("map", "--confirm", "--by", "test").returncode == 0
        assert ferry("extract").returncode == 0
        for verb in (["prepare"], ["audit"], ["review"], ["review", "--rule", "approve"],
                     ["sample", "--size", "50"], ["run"]):
            assert ferry(*verb).returncode in (0, 1), console[-1]
        # a patient others link to is deleted at the source: the delta pass deletes or empties
        (drop_patient if source == "clinic_csv" else fhir_drop_patient)(
            exp, "9004" if source == "clinic_csv" else "fx-40004")
        for verb in (["delta"], ["reconcile"], ["rollback", "--yes"], ["status"]):
            assert ferry(*verb).returncode in (0, 1), console[-1]
        # an unexpected failure whose exceptions quote a patient's surname and town
        env["CANARY_ROW"] = str(tmp_path / "export" / "patients.csv")
        if source == "clinic_csv":
            crash = subprocess.run([sys.executable, "-c", CRASH, "boom"], env=env,
                                   capture_output=True, text=True, timeout=120)
            assert crash.returncode == 3 and "Traceback" in crash.stderr, crash.stderr
            console.append(("boom", crash.stdout + crash.stderr))
        found: dict[str, list[str]] = {}
        for verb, out in console:
            if verb != "review" and (hit := leaks(out)):
                found[f"console: ferry {verb}"] = hit
        assert log.stat().st_size > 0
        for f in [log, *sorted(proj.rglob("*"))]:
            if f.is_file() and f.suffix in TEXT_FILES and (hit := leaks(f.read_text(
                    errors="replace"))):
                found[str(f.relative_to(tmp_path))] = hit
        return found, "\n".join(out for _, out in console)


@pytest.mark.parametrize(("source", "destination"), [("clinic_csv", "salesforce"),
                                                     ("fhir_bulk", "odoo")])
def test_every_verb_on_a_canary_export_quotes_no_patient_value(
        tmp_path: Path, source: str, destination: str) -> None:
    found, console = _hunt(tmp_path, source, destination)
    assert not found, found
    # the paths under test were taken (each names the record and field, never the value)
    assert "clocks went back" in console and "clocks went forward" in console
    assert all(f in console for f in ("phone_country_conflict", "unknown_country",
                                      "ambiguous_country"))
    reports = "".join(p.read_text() for p in (tmp_path / "proj" / "reports").rglob("*.json"))
    if destination == "salesforce":  # an Event needs its length; an Odoo lead has none
        assert '"stage": "transform-assumed"' in reports
    assert '"deleted_at_source"' in reports
