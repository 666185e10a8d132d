"""`ferry map` writes ferry.yaml ``source.columns`` when it proposes, and may place a column of
the export differently from the records already staged (here the patients' "Cell No" column:
staged in the custom bag, placed on ``mobile`` by the proposer). A map read from those records
and confirmed would load the column where the export is no longer read to put it, and a later
read would stage it elsewhere; the sample diff could not tell, as it rebuilds each payload from
the records written. So map stages such records again before it proposes, and the engine
refuses, at confirm, at a partial read and at load, records placed otherwise than ferry.yaml or
the confirmed map say, naming the command to run. Through the CLI against the Odoo sandbox
(clinic_csv export): extract, map, edit, confirm, run; then ferry.yaml edited by hand."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferry.sandbox import profiles
from ferry.sandbox.odoo import profile as odoo_profile

profiles.PROFILES.setdefault("odoo", odoo_profile)
RESTAGE = "ferry extract --since 1970-01-01"


def said(r: subprocess.CompletedProcess[str]) -> str:
    return " ".join((r.stdout + r.stderr).split())


def settle_reviews(path: Path) -> None:
    """The reviewer's edit: every line left to review accepted as proposed."""
    lines = path.read_text().splitlines()
    path.write_text("\n".join(ln for ln in lines if ln.strip() != "status: review") + "\n")


def staged_patients(root: Path) -> list[Any]:
    from ferry.engine.project import Project

    project = Project.at(root)
    try:
        return list(project.store.iter_records("patient"))
    finally:
        project.store.close()


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    from ferry.sandbox.harness import start_pair

    with start_pair(tmp_path / "p", source="clinic_csv", destination="odoo", patients=12,
                    seed=1, time_scale=1000.0, env_prefix="FERRY_CP_") as p:
        export = p.project.root / "clinic-export" / "patients.csv"
        head, rest = export.read_text().split("\n", 1)
        assert "Mobile Number" in head
        export.write_text(head.replace("Mobile Number", "Cell No") + "\n" + rest)
        yield p


@pytest.mark.timeout(900)  # 11 CLI runs in process
def test_a_column_placed_after_staging_is_staged_again_before_anything_loads(
        pair: Any, ferry: Any) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:  # wide: paths stay on one line
        return ferry(*args, env={"COLUMNS": "200"})

    root = pair.project.root
    p = str(root)
    mapping = root / "mapping.yaml"
    assert cli("extract", "-p", p).returncode == 0
    assert all(r.mobile is None and r.custom.get("cell_no") for r in staged_patients(root))

    # map places "Cell No" on mobile in ferry.yaml and stages the patients again before it
    # reads the map from them: no line of the map names the custom-bag column any more
    r = cli("map", "-p", p)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "'Cell No' → mobile" in said(r), said(r)[-2000:]
    assert "staged again (their columns are placed differently now" in said(r)
    assert yaml.safe_load((root / "ferry.yaml").read_text())["source"]["columns"]["patient"][
        "Cell No"] == "mobile"
    assert all(r.mobile and "cell_no" not in r.custom for r in staged_patients(root))
    assert "custom.cell_no" not in mapping.read_text()
    settle_reviews(mapping)
    r = cli("map", "--confirm", "-p", p)
    assert r.returncode == 0, said(r)[-2000:]
    stamped = yaml.safe_load(mapping.read_text())["confirmed"]["placement"]
    assert set(stamped) >= {"patient", "appointment", "invoice"}
    assert cli("prepare", "-p", p).returncode == 0
    r = cli("run", "-p", p)
    assert r.returncode == 0, said(r)[-2000:]

    # ferry.yaml edited by hand (the column sent back to the custom bag): the staged records
    # no longer match it, so confirming is refused, and so is a delta pass, which would stage
    # changed patients one way and keep the rest the other
    cfg = root / "ferry.yaml"
    settings = yaml.safe_load(cfg.read_text())
    settings["source"]["columns"]["patient"]["Cell No"] = None
    cfg.write_text(yaml.safe_dump(settings, sort_keys=False))
    r = cli("map", "--confirm", "-p", p)
    assert r.returncode != 0
    assert "records of patient were staged with the export's columns placed differently" \
        in said(r) and f"next: {RESTAGE} -p {p}" in said(r), said(r)[-2000:]
    r = cli("delta", "-p", p)
    assert r.returncode != 0
    assert "reading only the changes would mix the two" in said(r) and \
        f"next: {RESTAGE} -p {p}" in said(r), said(r)[-2000:]
    # a full read places every record the new way; the map confirmed against the old
    # placement is refused until it is proposed and confirmed again
    assert cli("extract", "--since", "1970-01-01", "-p", p).returncode == 0
    assert all(r.mobile is None and r.custom.get("cell_no") for r in staged_patients(root))
    r = cli("sample", "-p", p)
    assert r.returncode != 0
    assert "differently from when mapping.yaml was confirmed" in said(r) and \
        f"next: ferry map --force -p {p}" in said(r), said(r)[-2000:]
    assert cli("map", "--force", "-p", p).returncode == 0
    assert "custom.cell_no" in mapping.read_text()
    settle_reviews(mapping)
    r = cli("map", "--confirm", "-p", p)
    assert r.returncode == 0, said(r)[-2000:]
    from ferry.engine.placement import require_confirmed
    from ferry.engine.project import Project
    from ferry.mapping.mapping_file import require_confirmed as confirmed_map

    project = Project.at(root)
    try:
        require_confirmed(project, confirmed_map(mapping))  # what run, sample and delta check
    finally:
        project.store.close()
