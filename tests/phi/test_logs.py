"""PHI never reaches logs, error output or tracebacks: the CLI runs a migration with faults,
bad values and a crash planted in its error paths at DEBUG level, and no patient value appears
in the log file or the console output."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ferry.mapping import mapping_file
from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import confirm_file
from ferry.phi.scrub import ScrubFilter
from ferry.sandbox.harness import start_pair


def _phi_values(practice) -> set[str]:
    values: set[str] = set()
    for p in practice.iter("patient"):
        for v in (p.last_name, p.email, p.phone, p.mobile, p.mrn):
            if v and len(v) >= 6:
                values.add(v)
        if p.date_of_birth:
            values.add(p.date_of_birth.strftime("%d/%m/%Y"))
    return values


def test_cli_error_paths_leak_no_phi(tmp_path: Path) -> None:
    with start_pair(tmp_path / "proj", source="practicehub", destination="odoo", patients=25,
                    seed=9, time_scale=500, source_faults="500=0.05,429=0.05,truncate=0.03",
                    dest_faults="500=0.03", env_prefix="FERRY_LOGS_") as pair:
        mapping_file.save(load_recipe("practicehub", "odoo", "no_accounting"),
                          pair.project.mapping_path)
        confirm_file(pair.project.mapping_path, by="test")
        log = tmp_path / "ferry.log"
        env = {**os.environ, **pair.env, "FERRY_LOG_LEVEL": "DEBUG",
               "FERRY_LOG_FILE": str(log), "FERRY_DEBUG": "1"}
        outputs = []
        for verb in (["extract"], ["prepare"], ["run"], ["sample", "--size", "40"],
                     ["reconcile"], ["status"]):
            proc = subprocess.run([sys.executable, "-m", "ferry", *verb, "-p",
                                   str(pair.project.root)], env=env, capture_output=True,
                                  text=True, timeout=300)
            outputs.append(proc.stdout + proc.stderr)
        # a crash whose message quotes a value: the CLI must print it scrubbed
        victim = next(p for p in pair.practice.iter("patient") if p.email)
        env_bad = {**env, "FERRY_PHI_CRASH": f"{victim.first_name} {victim.last_name}"
                                              f" <{victim.email}>"}
        crash = subprocess.run(
            [sys.executable, "-c", "import os; from ferry.cli import app as a;"
             " a.app.command('boom')(lambda: (_ for _ in ()).throw(RuntimeError("
             "os.environ['FERRY_PHI_CRASH']))); a.main()", "boom"],
            env=env_bad, capture_output=True, text=True, timeout=120)
        outputs.append(crash.stdout + crash.stderr)
        assert crash.returncode == 3
        text = "\n".join(outputs) + (log.read_text() if log.exists() else "")
        assert log.exists() and log.stat().st_size > 0, "DEBUG logging produced lines"
        leaked = sorted(v for v in _phi_values(pair.practice) | {victim.email, victim.last_name}
                        if v in text)
        assert not leaked, leaked[:10]


def test_log_filter_scrubs_messages_args_and_exceptions(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    logger = logging.getLogger("ferry.test.scrub")
    handler = logging.Handler()
    records: list[logging.LogRecord] = []
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(ScrubFilter())
    logger.addHandler(handler)
    try:
        logger.error("lookup failed for %s", "Grace Hopper-Smith, grace@navy.example")
        try:
            raise ValueError("bad phone +44 20 7946 0958 for Alan Turing")
        except ValueError:
            logger.exception("write failed for source:patient:7")
    finally:
        logger.removeHandler(handler)
    text = " ".join(r.getMessage() for r in records)
    for bit in ("Grace", "grace@navy.example", "7946", "Alan Turing"):
        assert bit not in text
    assert "source:patient:7" in text and "ValueError" in text
