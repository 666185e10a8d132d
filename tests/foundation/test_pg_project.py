"""A project staged in PostgreSQL, end to end through the CLI: ``ferry init --store`` writes the
store keys (and the commented template names them for everyone else), and the audit anchor each
report records is read from the project's schema, so ``status --verify-log`` catches a tail cut
off the log there as it does in the SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.project import Project
from ferry.errors import ConfigError
from ferry.model.stores import schema_for
from ferry.reports.render import write_report
from ferry.settings import load_settings

runner = CliRunner()
PAIR = ["--source", "practicehub", "--destination", "pipedrive", "--no-encrypt"]


def test_init_names_the_store_keys_commented_by_default(tmp_path: Path) -> None:
    res = runner.invoke(app, ["init", str(tmp_path / "a"), *PAIR])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "a" / "ferry.yaml").read_text()
    assert "# store: postgresql://" in text and "# store_password_env: FERRY_STORE_PASSWORD" \
        in text and "docs/DEPLOY.md" in text
    assert load_settings(tmp_path / "a" / "ferry.yaml").store is None  # SQLite stays default
    res = runner.invoke(app, ["init", str(tmp_path / "b"), *PAIR,
                              "--store", "postgresql://ferry:secret@db/ferry"])
    assert isinstance(res.exception, ConfigError) and "password" in str(res.exception)
    assert not (tmp_path / "b" / "ferry.yaml").exists()  # refused before writing


def test_verify_log_reads_the_anchor_from_postgresql(tmp_path: Path, pg_url: str) -> None:
    root = tmp_path / "pg-anchor"
    res = runner.invoke(app, ["init", str(root), *PAIR, "--store", pg_url])
    assert res.exit_code == 0, res.output
    settings = load_settings(root / "ferry.yaml")
    assert settings.store == pg_url and settings.store_password_env == "FERRY_STORE_PASSWORD"
    project = Project.at(root)
    for k in range(3):
        seq = project.audit.append("run-1", kind="intent", op="create", dest_object="person",
                                   src_ref=f"practicehub:patient:{k}")
        project.audit.append("run-1", kind="done", op="create", dest_object="person",
                             dest_id=str(k), intent_seq=seq)
    project.store.close()
    json_path, _ = write_report(root / "reports" / "run", "run", {"ok": True},
                                project=settings.project, name="r1")
    anchor = json.loads(json_path.read_text())["audit_anchor"]
    assert anchor["entries"] == 6
    res = runner.invoke(app, ["status", "--project", str(root), "--verify-log", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["audit"]["verified"]["ok"] is True

    # someone with database access cuts the last two entries and moves the head back
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(f'SET search_path TO "{schema_for(settings.project)}"')
        h = c.execute("SELECT hash FROM audit WHERE seq=4").fetchone()[0]
        c.execute("DELETE FROM audit WHERE seq>4")
        c.execute("UPDATE kv SET value=%s WHERE key='audit_head'", (json.dumps([4, h]),))
    res = runner.invoke(app, ["status", "--project", str(root), "--verify-log", "--json"])
    assert res.exit_code == 1, res.output
    verified = json.loads(res.output)["audit"]["verified"]
    assert verified["ok"] is False and "anchored 6 entries" in verified["message"]


def test_an_old_schema_with_fold_order_as_text_is_upgraded_on_open(pg_url: str) -> None:
    """Before 0a75328 ``fold_acc.ord`` was TEXT: the codec's bytes landed there as PostgreSQL's
    ``\\x…`` hex text and the fold step could not decode them. Opening such a schema converts
    the column to BYTEA with every stored order key back to its bytes."""
    from ferry.engine.load import FOLD_SCHEMA
    from ferry.model.stores import open_store

    schema = "ferry_old_fold_shape"
    keys = [b"2024-01-02", bytes(range(256)), b"\x00enc\xff"]  # plain and encrypted-looking
    with psycopg.connect(pg_url, autocommit=True, cursor_factory=psycopg.ClientCursor) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
        c.execute(f'SET search_path TO "{schema}"')
        c.execute(FOLD_SCHEMA.replace("ord BLOB", "ord TEXT").replace("BLOB", "BYTEA"))
        for i, k in enumerate(keys):  # as the old store wrote them: bytes into a TEXT column
            c.execute("INSERT INTO fold_acc VALUES (%s,%s,%s,%s,%s,%s)",
                      ("m", "p1", "k", k, f"s{i}", b"v"))
        assert c.execute("SELECT ord FROM fold_acc WHERE source_id='s0'").fetchone()[0] \
            == "\\x" + keys[0].hex()  # the shape that failed
    store = open_store(pg_url, schema=schema)
    try:
        assert store.conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema=? AND"
            " table_name='fold_acc' AND column_name='ord'", (schema,)).fetchone()[0] == "bytea"
        got = dict(store.conn.execute("SELECT source_id, ord FROM fold_acc").fetchall())
        assert [bytes(got[f"s{i}"]) for i in range(len(keys))] == keys
        store.conn.executescript(FOLD_SCHEMA)  # the fold step's own set-up is unmoved by it
        store.conn.execute("INSERT OR REPLACE INTO fold_acc VALUES (?,?,?,?,?,?)",
                           ("m", "p1", "k", b"\x01new", "s9", b"v"))
        assert bytes(store.conn.execute("SELECT ord FROM fold_acc WHERE source_id='s9'")
                     .fetchone()[0]) == b"\x01new"
    finally:
        store.close()
