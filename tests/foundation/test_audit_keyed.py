"""The audit chain against a rewrite: keyed with the project's key (HMAC), an entry edited and
the chain and head recomputed without the key is detected; a tail cut off and the head moved
back is detected from the anchor every report records (issue 21: both passed
``status --verify-log``). The unkeyed chain keeps working and says what it cannot catch."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.project import Project
from ferry.model.audit import GENESIS, AuditLog
from ferry.model.crypto import new_key
from ferry.model.staging import StagingStore, canonical_json
from ferry.reports.render import anchors_in, write_report
from ferry.settings import ConnectorSettings, Options, Settings, save_settings

runner = CliRunner()
KEY_ENV = "FERRY_TEST_AUDIT_KEY"


def _fill(log: AuditLog, n: int = 6) -> None:
    for k in range(n // 2):
        seq = log.append("run-1", kind="intent", op="update", dest_object="person",
                         dest_id=str(k), src_ref=f"practicehub:patient:{k}",
                         before={"name": f"old {k}"})
        log.append("run-1", kind="done", op="update", dest_object="person", dest_id=str(k),
                   intent_seq=seq, detail={"status": 200})


def _cut(db: Path, keep: int) -> None:
    """Cut the tail and move the head back to the new last entry (no link recomputed)."""
    c = sqlite3.connect(db)
    h = c.execute("SELECT hash FROM audit WHERE seq=?", (keep,)).fetchone()[0]
    c.execute("DELETE FROM audit WHERE seq>?", (keep,))
    c.execute("UPDATE kv SET value=? WHERE key='audit_head'", (json.dumps([keep, h]),))
    c.commit()
    c.close()


def _rewrite(db: Path, *, edit_seq: int | None = None, keep: int | None = None,
             mac_key: bytes | None = None) -> None:
    """What someone with the staging file but not the project's key can do: edit an entry (or
    cut the tail), recompute every later link and the head with SHA-256 (or a key of theirs)."""
    c = sqlite3.connect(db)
    if keep is not None:
        c.execute("DELETE FROM audit WHERE seq>?", (keep,))
    if edit_seq is not None:
        c.execute("UPDATE audit SET dest_id='999' WHERE seq=?", (edit_seq,))
    prev = GENESIS
    rows = c.execute("SELECT seq, run_id, at, kind, op, dest_object, dest_id, src_ref,"
                     " intent_seq, before, detail FROM audit ORDER BY seq").fetchall()
    for r in rows:
        # a plain before-image is JSON; an encrypted one the forger would decrypt with the
        # codec key (which they lack as much as the MAC key): it cannot matter here
        before = json.loads(r[9]) if r[9] is not None and bytes(r[9])[:1] == b"{" else None
        row = {"seq": r[0], "run_id": r[1], "at": r[2], "kind": r[3], "op": r[4],
               "dest_object": r[5], "dest_id": r[6], "src_ref": r[7], "intent_seq": r[8],
               "before": before, "detail": json.loads(r[10] or "{}")}
        data = prev.encode() + canonical_json(row)
        h = hmac.new(mac_key, data, hashlib.sha256).hexdigest() if mac_key else \
            hashlib.sha256(data).hexdigest()
        c.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, h, r[0]))
        prev = h
    c.execute("UPDATE kv SET value=? WHERE key='audit_head'", (json.dumps([rows[-1][0], prev]),))
    c.commit()
    c.close()


def test_unkeyed_chain_rewrite_passes_alone_but_not_against_an_anchor(tmp_path: Path) -> None:
    """The limit of the unkeyed chain, stated by verify, and what the anchors add to it."""
    db = tmp_path / "u.db"
    log = AuditLog(StagingStore(db))
    _fill(log)
    anchor = log.anchor()
    assert anchor["entries"] == 6 and anchor["chain"] == "sha256"
    log.store.close()
    _rewrite(db, edit_seq=4)
    log = AuditLog(StagingStore(db))
    ok, msg = log.verify()
    assert ok and "not a rewrite that recomputes the hashes" in msg
    ok, msg = log.verify([("reports/run/run.json", anchor)])
    assert not ok and "entry 6 is not the one reports/run/run.json anchored" in msg


def test_keyed_chain_detects_an_edit_recomputed_without_the_key(tmp_path: Path) -> None:
    key = bytes(range(32))
    db = tmp_path / "k.db"
    log = AuditLog(StagingStore(db), key=key)
    _fill(log)
    assert log.verify()[0] and log.anchor()["chain"] == "hmac-sha256"
    log.store.close()
    for forger in (None, b"x" * 32):  # plain SHA-256, or an HMAC under a key of their own
        _rewrite(db, edit_seq=4, mac_key=forger)
        ok, msg = AuditLog(StagingStore(db), key=key).verify()
        assert not ok and "entry 1 was altered" in msg, msg
    # nor can the chain be declared unkeyed to dodge the MAC
    c = sqlite3.connect(db)
    c.execute("UPDATE kv SET value='\"sha256\"' WHERE key='audit_chain'")
    c.commit()
    c.close()
    ok, msg = AuditLog(StagingStore(db), key=key).verify()
    assert not ok and "chained with sha256" in msg
    # and a keyed log without its key is not passed as intact
    ok, msg = AuditLog(StagingStore(tmp_path / "k2.db"), key=key).verify()
    assert ok  # empty
    log2 = AuditLog(StagingStore(tmp_path / "k2.db"), key=key)
    _fill(log2, 2)
    assert not AuditLog(StagingStore(tmp_path / "k2.db")).verify()[0]


@pytest.mark.parametrize("keyed", [True, False])
def test_cut_tail_with_head_moved_back_is_caught_by_the_anchor(tmp_path: Path, keyed: bool
                                                                ) -> None:
    db = tmp_path / "c.db"
    key = bytes(32) if keyed else None
    log = AuditLog(StagingStore(db), key=key)
    _fill(log)
    anchor = log.anchor()
    log.store.close()
    _cut(db, 4)
    log = AuditLog(StagingStore(db), key=key)
    assert log.verify()[0]  # every remaining link is genuine: the log alone cannot tell
    ok, msg = log.verify([("reports/run/run.json", anchor)])
    assert not ok and "ends at entry 4 but reports/run/run.json anchored 6 entries" in msg


@pytest.fixture
def keyed_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv(KEY_ENV, new_key())
    save_settings(Settings(project="t", source=ConnectorSettings(kind="practicehub"),
                           destination=ConnectorSettings(kind="pipedrive"),
                           options=Options(encrypt_at_rest=True, encryption_key_env=KEY_ENV)),
                  tmp_path / "ferry.yaml")
    proj = Project.at(tmp_path)
    proj.audit.append("run-1", kind="intent", op="create", dest_object="person",
                      src_ref="practicehub:patient:1")
    for k in range(2, 6):
        proj.audit.append("run-1", kind="intent", op="create", dest_object="person",
                          src_ref=f"practicehub:patient:{k}")
    write_report(proj.reports_dir("run"), "run", {"created": 5}, project="t")
    proj.store.close()
    return proj


def _verify(root: Path) -> tuple[int, str]:
    res = runner.invoke(app, ["status", "--project", str(root), "--verify-log"],
                        env={"COLUMNS": "200"})
    return res.exit_code, res.output


@pytest.mark.parametrize(("attack", "found"), [
    ("edit", "entry 1 was altered"), ("cut", "entries were removed from its end")])
def test_status_verify_log_catches_both_attacks(keyed_project: Project, attack: str,
                                                found: str) -> None:
    root = keyed_project.root
    (a,) = anchors_in(root / "reports")
    assert a[0] == "reports/run/run.json" and a[1]["entries"] == 5
    assert a[1]["chain"] == "hmac-sha256"
    code, out = _verify(root)
    assert code == 0 and "intact" in out and "1 report" in out, out
    db = root / ".ferry" / "staging.db"
    if attack == "edit":
        _rewrite(db, edit_seq=2)
    else:
        _cut(db, 3)
    code, out = _verify(root)
    assert code == 1 and found in out, out
