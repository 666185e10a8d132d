"""`ferry init` writes every connection key and refuses unknown ones; `ferry check` names the
variable, host and setting at fault; exit codes follow the help (0 ok/WARN, 1 FAIL, 2 config).

The commands run through the CLI's own entry point in this process (the ``ferry`` fixture,
tests/cli/conftest.py), not as eight ``python -m ferry`` processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.cli import settings_help as sh
from ferry.cli.template import render
from ferry.settings import load_settings, save_settings


def test_init_rejects_an_unknown_key_naming_the_valid_ones(ferry, tmp_path: Path) -> None:
    r = ferry("init", str(tmp_path / "p"), "--source", "practicehub", "--destination",
              "pipedrive", "--set", "source.api_kye_env=X")
    assert r.returncode == 2, r.stdout + r.stderr
    out = " ".join(r.stderr.split())
    assert "source.api_kye_env is not a practicehub setting" in out
    assert "did you mean 'api_key_env'" in out and "app_details" in out
    assert not (tmp_path / "p" / "ferry.yaml").exists()


def test_init_rejects_unknown_kinds_and_sandbox_kinds(ferry, tmp_path: Path) -> None:
    r = ferry("init", str(tmp_path / "p"), "--source", "cliniko", "--destination", "pipedrive")
    assert r.returncode == 2 and "valid: clinic_csv, fhir_bulk, practicehub, pulse" in \
        " ".join(r.stderr.split())
    r = ferry("init", str(tmp_path / "p"), "--source", "pulse", "--destination", "hubspot")
    assert r.returncode == 2 and "valid: odoo, pipedrive, salesforce" in r.stderr
    r = ferry("sandbox", "serve", "foo")
    assert r.returncode == 2 and "unexpected" not in r.stderr
    assert "valid: fhir, odoo, pipedrive, practicehub, pulse, salesforce" in \
        " ".join(r.stderr.split())


@pytest.mark.parametrize("role", ["source", "destination"])
def test_every_settings_key_is_explained(role: str) -> None:
    """The keys come from the connectors' Settings; a key added there without words fails here."""
    for kind in sh.kinds(role):
        for key in sh.keys(role, kind):
            assert key.meaning, f"{kind}.{key.name} has no entry in settings_help.HELP"


def test_connector_docs_list_every_key(tmp_path: Path) -> None:
    """docs/connectors/<kind>.md carry the generated settings table; stale ones fail here."""
    import shutil

    docs = Path(__file__).resolve().parents[2] / "docs" / "connectors"
    copy = tmp_path / "connectors"
    shutil.copytree(docs, copy)
    assert sh.refresh_docs(copy) == [], "run: python -m ferry.cli.settings_help docs/connectors"
    for role in ("source", "destination"):
        for kind in sh.kinds(role):
            text = (docs / f"{kind}.md").read_text()
            assert all(f"| `{k.name}` |" in text for k in sh.keys(role, kind)), kind


@pytest.mark.parametrize("source,destination", [("practicehub", "pipedrive"),
                                                ("clinic_csv", "odoo"),
                                                ("pulse", "salesforce"),
                                                ("fhir_bulk", "pipedrive")])
def test_init_writes_every_key_commented_and_it_loads(tmp_path: Path, source: str,
                                                      destination: str) -> None:
    text = render("p", source, destination, {"source": {}, "destination": {},
                                             "options": {"encrypt_at_rest": True}})
    path = tmp_path / "ferry.yaml"
    path.write_text(text)
    settings = load_settings(path)
    assert settings.source.kind == source and settings.options.encrypt_at_rest
    for role, kind in (("source", source), ("destination", destination)):
        for key in sh.keys(role, kind):
            assert f"  {key.name}: " in text or f"  # {key.name}: " in text, key.name
    # a later save (check --baa-by) keeps the comments and sets the value where it is explained
    settings.options.fallback_owner_email = "owner@clinic.example"
    settings.baa.confirmed = True
    save_settings(settings, path)
    after = path.read_text()
    assert after.count("\n  # ") == text.count("\n  # ") - 1
    lines = after.splitlines()
    i = lines.index("  fallback_owner_email: owner@clinic.example")
    assert "owner of records" in " ".join(lines[i - 2:i])
    assert load_settings(path).baa.confirmed


@pytest.mark.parametrize("source", ["pulse", "clinic_csv"])
def test_columns_placed_by_map_sit_under_their_key_not_the_next_heading(
        tmp_path: Path, source: str) -> None:
    from ferry.settings import ConnectorSettings

    path = tmp_path / "ferry.yaml"
    path.write_text(render("p", source, "salesforce", {"source": {}, "destination": {},
                                                       "options": {}}))
    settings = load_settings(path)
    columns = {"patients.csv": {"Medicare No": "insurance.member_id", "Alt Phone": "custom"}}
    # as `ferry map` writes it (engine/mapflow.place_columns): every source key, columns set
    settings.source = ConnectorSettings(**{**settings.source.model_dump(), "columns": columns})
    save_settings(settings, path)
    lines = path.read_text().splitlines()
    at = lines.index("  columns:")
    assert lines[at + 1:at + 4] == ["    patients.csv:", "      Medicare No: insurance.member_id",
                                    "      Alt Phone: custom"]
    heading = next(i for i, line in enumerate(lines) if line.startswith("# Destination"))
    assert lines[heading + 1] == "destination:" and at < heading
    assert "  # encoding: null" in lines[at + 4:heading]  # the keys after it keep their comments
    assert load_settings(path).source.options()["columns"] == columns


def test_invalid_yaml_shows_the_line_and_column(ferry, tmp_path: Path) -> None:
    (tmp_path / "ferry.yaml").write_text("project: x\nsource:\n  kind: practicehub\n"
                                         "   base_url: https://a.b.practicehub.io/api\n")
    r = ferry("check", "-p", str(tmp_path))
    assert r.returncode == 2
    assert "ferry.yaml line 4, column 12" in r.stderr and "4 |    base_url" in r.stderr


def checks(root: Path) -> list[dict[str, str]]:
    return json.loads((root / "reports" / "check" / "check.json").read_text())["checks"]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[object]:
    from ferry.sandbox.harness import start_pair

    with start_pair(tmp_path / "proj", patients=3, time_scale=200.0,
                    env_prefix="FERRY_CLI_") as p:
        yield p


def test_check_names_a_missing_variable_and_an_unreachable_host(ferry, pair) -> None:  # type: ignore[no-untyped-def]
    root = pair.project.root
    src = pair.project.settings.source.options()
    var = src.get("api_key_env") or src["api_key_envs"][0]
    r = ferry("check", "-p", str(root), unset=var)
    assert r.returncode == 1, r.stdout
    assert var in r.stdout and "FAIL 1 of" in r.stdout
    (row,) = [c for c in checks(root) if c["status"] == "FAIL"]
    assert row["detail"] == f"environment variable {var} is not set (named by" \
                            " source.api_key_env)"
    assert row["fix"].startswith(f"export {var}=")

    # all set: ok rows and the BAA WARN exit 0
    r = ferry("check", "-p", str(root))
    assert r.returncode == 0, r.stdout
    assert "WARN" in r.stdout and "FAIL" not in r.stdout

    # the destination's port closed: unreachable, with the host, not an auth diagnosis
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    yaml = root / "ferry.yaml"
    base = pair.project.settings.destination.options()["base_url"]
    yaml.write_text(yaml.read_text().replace(base, f"http://127.0.0.1:{closed}"))
    r = ferry("check", "-p", str(root))
    assert r.returncode == 1 and "unreachable" in r.stdout
    (row,) = [c for c in checks(root) if c["status"] == "FAIL"]
    assert row["name"] == "destination reachable"
    assert row["detail"] == f"unreachable: 127.0.0.1:{closed} refused the connection"
    assert "destination.base_url" in row["fix"]
