"""``ferry map`` places an export's unknown columns with the proposer (issues 6 and 10).

A Pulse export folder with some headers renamed to unusual but meaningful names: the source's
own synonym matcher cannot place them, ``ferry map`` proposes them into ferry.yaml
``source.columns`` and the source then reads them into the right canonical fields; columns no
field fits stay in the custom bag and are listed for review.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.mapping.columns import clean_header, merge_columns, propose_export_columns
from ferry.sandbox.pulse import write_folder
from ferry.sandbox.synth import Practice
from ferry.settings import load_settings
from ferry.sources.pulse import create

SEED, PATIENTS = 5, 40
RENAME = {"Last Name": "Pt Surname", "Date of Birth": "D.O.B.", "Phone": "Contact No",
          "First Name": "Pt Forename", "Occupation": "Profession", "Country": "Nation"}
PLACED = {"Pt Surname": "last_name", "D.O.B.": "date_of_birth", "Pt Forename": "first_name",
          "Profession": "occupation", "Nation": "country"}


def _rename_headers(path: Path, rename: dict[str, str]) -> None:
    raw = path.read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    head, rest = raw[len(bom):].decode("utf-8").split("\n", 1)
    cells = [rename.get(c, c) for c in next(csv.reader([head]))]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    path.write_bytes(bom + (buf.getvalue() + "\n" + rest).encode("utf-8"))


def _patients(options: dict, workdir: Path) -> dict[str, object]:
    src = create(options, workdir)

    async def go() -> list:
        return [r async for p in src.read("patient") for r in p.records]

    return {r.source_id: r for r in asyncio.run(go())}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("csvcols")
    export = root / "export"
    export.mkdir()
    write_folder(export, SEED, PATIENTS)
    _rename_headers(export / "patients.csv", RENAME)
    (root / "ferry.yaml").write_text(
        f"project: t\nsource: {{kind: pulse, path: '{export}'}}\n"
        "destination: {kind: odoo, url: 'http://127.0.0.1:9', db: x, login: u, "
        "password_env: X}\n")
    return root


def test_matcher_alone_misses_the_renamed_columns(project: Path) -> None:
    got = _patients({"path": str(project / "export")}, project)
    rec = next(iter(got.values()))
    assert rec.occupation is None and rec.country is None
    assert "profession" in rec.custom  # kept whole, not dropped


def test_ferry_map_proposes_columns_and_the_source_reads_them(project: Path) -> None:
    from ferry.cli.app import app

    r = CliRunner().invoke(app, ["map", "-p", str(project), "--no-describe"])
    assert r.exit_code == 0, r.output
    assert "placed by the proposer" in r.output and "'Profession' → occupation" in r.output
    assert "patients.csv → patient: " in r.output  # per file: standard / custom / not migrated
    cols = load_settings(project / "ferry.yaml").source.options()["columns"]
    assert {k: v for k, v in cols["patient"].items() if k in PLACED} == PLACED
    # every column is decided and written: no field fits → null (a custom field keeps it)
    assert cols["patient"]["Vip"] is None and cols["patient"]["Loyalty points"] is None
    assert cols["patient"]["Contact No"] == "phone"  # the exact match, given its confidence
    assert (project / "mapping.yaml").exists()

    options = load_settings(project / "ferry.yaml").source.options()
    got = _patients(options, project)
    want = {p.source_id: p for p in Practice(SEED, PATIENTS).iter("patient")}
    assert set(got) == set(want)
    for sid, w in want.items():
        g = got[sid]
        for f in ("last_name", "first_name", "date_of_birth", "phone", "occupation", "country"):
            gv, wv = getattr(g, f), getattr(w, f)
            if isinstance(gv, str) and isinstance(wv, str):
                gv, wv = gv.strip(), wv.strip()
            assert gv == wv, (sid, f)
        assert "profession" not in g.custom and "vip" in g.custom


def test_user_entries_win_and_proposals_are_deterministic(project: Path) -> None:
    src = create({"path": str(project / "export")}, project)
    raw = src.raw_columns(10)
    given = {"patient": {"Pt Forename": None, "Nation": "region"}}
    a = propose_export_columns(raw, given)
    assert a == propose_export_columns(raw, given)
    by_col = {p.column: p for p in a}
    assert "Pt Forename" not in by_col and "Nation" not in by_col  # the user's word stands
    assert by_col["Pt Surname"].status == "proposed"
    merged = merge_columns(given, a)
    assert merged["patient"]["Pt Forename"] is None and merged["patient"]["Nation"] == "region"
    assert merged["patient"]["Pt Surname"] == "last_name"
    assert all(p.target != "region" for p in a)  # a field the user placed is not offered again


def test_clean_header() -> None:
    assert clean_header("D.O.B.") == "DOB" and clean_header("Pt. D.O.B") == "Pt. DOB"
    assert clean_header("E-mail Addr") == "E-mail Addr"


def test_rest_mode_offers_the_same_columns(tmp_path: Path, monkeypatch) -> None:
    from ferry.sandbox.registry import SandboxOptions, serve

    # Pulse publishes no API: its REST mode is on the assumed (extended) surface only
    running, info = serve("pulse", SandboxOptions(seed=SEED, patients=8, time_scale=50,
                                                  surface="extended"))
    try:
        monkeypatch.setenv("PULSE_COLS_KEY", info["credentials"]["api_key"])
        src = create({"mode": "rest", "base_url": info["credentials"]["base_url"],
                      "api_key_env": "PULSE_COLS_KEY", "time_scale": 50}, tmp_path)
        raw = src.raw_columns(5)
    finally:
        running.stop()
    cols = {c.column: c for c in raw["patient"]}
    assert cols["Last Name"].matched == "last_name" and cols["Last Name"].samples
    assert all(len(c.samples) <= 5 for c in cols.values())
    got = {p.column: p for p in propose_export_columns(raw, {}) if p.object == "patient"}
    # the matcher's exact placements go through the same proposer, with a confidence each
    assert got["Last Name"].status == "proposed" and got["Last Name"].target == "last_name"
    assert got["Last Name"].reason.startswith("exact name match")
