"""Each project reads its own encryption-key variable: `ferry init` names one after the folder,
so two projects in one shell keep their keys apart; a project made before that (one shared
``FERRY_ENCRYPTION_KEY``) keeps working; a wrong key, from the environment or the keyring, is
refused when the store opens with a message naming the variable, never the key (issue 18)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from ferry.engine.project import KEY_CHECK, Project
from ferry.errors import ConfigError
from ferry.model.crypto import new_key
from ferry.model.entities import Patient
from ferry.settings import (
    SHARED_KEY_ENV,
    ConnectorSettings,
    Options,
    Settings,
    load_settings,
    project_key_env,
    save_settings,
)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def ferry(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ferry", *args], capture_output=True,
                          text=True, env={**os.environ, **env, "COLUMNS": "80"}, timeout=120)


def project(root: Path, key_env: str | None) -> Project:
    """An encrypting project in ``root`` reading ``key_env`` (None: the pre-init default)."""
    opts = {"encryption_key_env": key_env} if key_env else {}
    save_settings(Settings(project=root.name, source=ConnectorSettings(kind="practicehub"),
                           destination=ConnectorSettings(kind="pipedrive"),
                           options=Options(encrypt_at_rest=True, **opts)), root / "ferry.yaml")
    return Project.at(root)


def stage(proj: Project) -> None:
    proj.store.put_records("patient", [Patient(source_id="1", first_name="Ann",
                                               created_at=T0, updated_at=T0)])
    proj.store.close()


def test_the_variable_is_named_after_the_folder_and_a_taken_name_is_not_reused() -> None:
    assert project_key_env("north-clinic") == "FERRY_ENCRYPTION_KEY_NORTH_CLINIC"
    assert project_key_env("Klinik Süd 2") == "FERRY_ENCRYPTION_KEY_KLINIK_S_D_2"
    assert project_key_env("---") == "FERRY_ENCRYPTION_KEY_PROJECT"
    taken = {"FERRY_ENCRYPTION_KEY_CLINIC", "FERRY_ENCRYPTION_KEY_CLINIC_2"}
    assert project_key_env("clinic", taken.__contains__) == "FERRY_ENCRYPTION_KEY_CLINIC_3"


def test_init_writes_the_projects_own_variable_and_a_second_clinic_gets_another(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SHARED_KEY_ENV)}
    first = ferry("init", str(tmp_path / "a" / "clinic"), "--source", "practicehub",
                  "--destination", "pipedrive", env=env)
    assert first.returncode == 0, first.stderr
    var = load_settings(tmp_path / "a" / "clinic" / "ferry.yaml").options.encryption_key_env
    assert var == "FERRY_ENCRYPTION_KEY_CLINIC"
    key = re.search(rf"export {var}=(\S+)", first.stdout)
    assert key is not None, first.stdout
    # the first clinic's key is exported: a second folder called clinic must not read it
    second = ferry("init", str(tmp_path / "b" / "clinic"), "--source", "clinic_csv",
                   "--destination", "odoo", env={**env, var: key.group(1)})
    assert second.returncode == 0, second.stderr
    assert "\nexport FERRY_ENCRYPTION_KEY_CLINIC_2=" in second.stdout
    assert load_settings(tmp_path / "b" / "clinic" / "ferry.yaml"
                         ).options.encryption_key_env == "FERRY_ENCRYPTION_KEY_CLINIC_2"
    assert all(len(line) <= 80 for line in second.stdout.splitlines()
               if not line.lstrip().startswith("export ")), second.stdout


def test_two_projects_in_one_shell_each_open_with_their_own_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "north", tmp_path / "south"
    a.mkdir()
    b.mkdir()
    key_a, key_b = new_key(), new_key()
    monkeypatch.setenv(project_key_env("north"), key_a)
    monkeypatch.setenv(project_key_env("south"), key_b)
    stage(project(a, project_key_env("north")))
    stage(project(b, project_key_env("south")))
    for root in (a, b):
        assert Project.at(root).store.get("patient", "1") is not None
    # south's key under north's name: refused when the store opens, naming the variable only
    monkeypatch.setenv(project_key_env("north"), key_b)
    with pytest.raises(ConfigError) as err:
        _ = Project.at(a).store
    msg = str(err.value)
    assert "FERRY_ENCRYPTION_KEY_NORTH (from the environment)" in msg
    assert "does not open this project's staged data" in msg
    assert key_a not in msg and key_b not in msg


def test_a_project_from_before_keeps_its_shared_variable_and_learns_its_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key()
    monkeypatch.setenv(SHARED_KEY_ENV, key)
    proj = project(tmp_path, None)
    assert proj.settings.options.encryption_key_env == SHARED_KEY_ENV
    stage(proj)
    with proj.store.tx() as c:  # as Ferry left a store before it kept a check value
        c.execute("DELETE FROM kv WHERE key=?", (KEY_CHECK,))
    proj.store.close()
    # another project's key in the shared variable: the staged value tells, before anything
    monkeypatch.setenv(SHARED_KEY_ENV, new_key())
    with pytest.raises(ConfigError, match="give the project its own variable") as err:
        _ = Project.at(tmp_path).store
    assert f"{SHARED_KEY_ENV} (from the environment)" in str(err.value)
    # the right key opens it and is remembered: a wrong one is now refused on the check value
    monkeypatch.setenv(SHARED_KEY_ENV, key)
    opened = Project.at(tmp_path)
    assert opened.store.get("patient", "1") is not None
    assert opened.store.get_value(KEY_CHECK)
    opened.store.close()
    monkeypatch.setenv(SHARED_KEY_ENV, new_key())
    with pytest.raises(ConfigError, match="does not open"):
        _ = Project.at(tmp_path).store


def test_a_wrong_or_malformed_key_in_the_keyring_is_named_as_the_keyrings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keyring (service 'ferry', one entry per variable): an in-memory backend stands in
    for the OS one, which this machine has not got."""
    held: dict[tuple[str, str], str] = {}
    ring = types.SimpleNamespace(get_password=lambda s, n: held.get((s, n)),
                                 set_password=lambda s, n, v: held.__setitem__((s, n), v))
    monkeypatch.setitem(sys.modules, "keyring", ring)
    var = project_key_env(tmp_path.name)
    monkeypatch.delenv(var, raising=False)
    key = new_key()
    held[("ferry", var)] = key
    stage(project(tmp_path, var))
    assert Project.at(tmp_path).store.get("patient", "1") is not None
    held[("ferry", var)] = other = new_key()
    with pytest.raises(ConfigError) as err:
        _ = Project.at(tmp_path).store
    assert f"{var} (from the keyring) does not open" in str(err.value)
    assert other not in str(err.value) and key not in str(err.value)
    held[("ferry", var)] = "not-a-key"
    with pytest.raises(ConfigError, match=rf"{var} \(from the keyring\) is not an encryption"
                                          " key") as err:
        _ = Project.at(tmp_path).store
    assert "not-a-key" not in str(err.value)


def test_check_has_a_line_for_the_key_naming_its_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ferry.engine.checks import encryption_key

    var = project_key_env(tmp_path.name)
    monkeypatch.delenv(var, raising=False)
    line = encryption_key(project(tmp_path, var))
    assert line is not None and line.status == "FAIL"
    assert line.detail == f"{var} is not set (named by options.encryption_key_env)"
    assert line.fix.startswith(f"export {var}=")
    key = new_key()
    monkeypatch.setenv(var, key)
    stage(project(tmp_path, var))
    line = encryption_key(Project.at(tmp_path))
    assert line is not None and line.ok and line.detail == f"{var} (from the environment)"
    monkeypatch.setenv(var, new_key())
    line = encryption_key(Project.at(tmp_path))
    assert line is not None and line.status == "FAIL" and "does not open" in line.detail
    assert key not in line.detail + line.fix
