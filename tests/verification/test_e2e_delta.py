"""``ferry delta --watch`` during a cutover: patients created, edited and deleted at the source
while the watch runs end up in the destination exactly as the source's final state — no
duplicates, edits applied, deletions applied (policy ``delete``)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.cli.commands import delta as delta_verb
from ferry.engine.pipeline import confirmed_mapping, delta, load, open_destination
from ferry.engine.prepare import apply_keys


def _source_patients(pair) -> dict[str, str | None]:
    body = httpx.get(pair.source_info["base_url"] + "/_sandbox/records/patients", timeout=60).json()
    return {str(r["source_id"]): r.get("occupation") for r in body["records"]}


def _dest_patients(pair) -> dict[str, list[str | None]]:
    doc = apply_keys(confirmed_mapping(pair.project), pair.project.store)
    sid_key = doc.custom_field("person", "ferry_source_id").key
    occ_key = doc.custom_field("person", "occupation").key
    dest = open_destination(pair.project)
    ids = list(dest.iter_ids("person"))
    out: dict[str, list[str | None]] = {}
    for row in dest.read("person", ids, [sid_key, occ_key]).values():
        out.setdefault(str(row[sid_key]), []).append(row.get(occ_key))
    return out


def _mutate(pair, **spec: int) -> dict:
    r = httpx.post(pair.source_info["base_url"] + "/_sandbox/mutate",
                   json={"resources": {"patients": spec}}, timeout=60)
    r.raise_for_status()
    return r.json()["patients"]


class _Window(dt.datetime):
    """The watch's clock (``dt.datetime`` in the delta verb's module): the real time until
    ``close()``, then the window's end once a pass that started after ``close()`` has ended:
    the second time the watch reads the clock (the first ends the pass that was running, if
    one was). The window used to be a wall-clock guess, six quiet passes long, which a loaded
    machine's slower passes with edits to write could outlast."""

    end: dt.datetime
    reads_since_close: int | None = None

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        if cls.reads_since_close is None:
            return dt.datetime.now(tz)
        cls.reads_since_close += 1
        return cls.end if cls.reads_since_close >= 2 else dt.datetime.now(tz)

    @classmethod
    def close(cls) -> None:
        cls.reads_since_close = 0


def test_watch_converges_to_the_source_final_state(migration, monkeypatch) -> None:
    pair = migration(patients=14, options={"dedup_by_email": False})
    load(pair.project)
    assert set(_dest_patients(pair)) == set(_source_patients(pair))
    store = pair.project.store
    delta(pair.project)  # a quiet pass: nothing changed
    # Edits land after the watch's 1st and 2nd passes; the window then closes, and the watch
    # stops after a pass that started once both were made.
    window = type("Window", (_Window,), {"end": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)})
    until = window.end.isoformat()
    monkeypatch.setattr(delta_verb, "dt", type("dt", (), {"datetime": window, "UTC": dt.UTC}))
    outcome: dict[str, object] = {}

    def watch() -> None:
        outcome["result"] = CliRunner().invoke(app, [
            "delta", "--project", str(pair.project.root), "--watch", "--every", "0.2",
            "--until", until])

    quiet = len(store.runs("delta"))

    def passes_done() -> int:
        return sum(1 for r in store.runs("delta") if r.status == "done") - quiet

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 240
        while passes_done() < n and time.monotonic() < deadline:
            time.sleep(0.05)

    thread = threading.Thread(target=watch)
    thread.start()
    wait_for(1)
    first = _mutate(pair, creates=2, updates=3, deletes=1, seed=11)
    wait_for(2)
    second = _mutate(pair, creates=1, updates=2, deletes=2, seed=12)
    edited_at = dt.datetime.now(dt.UTC).isoformat()
    window.close()
    thread.join(timeout=240)
    result = outcome["result"]
    assert result.exit_code == 0, getattr(result, "output", result)
    assert first["created"] and first["updated"] and second["deleted"]
    after = [r for r in store.runs("delta") if r.started_at > edited_at]
    assert after, "no delta pass ran after the last edit"
    src = _source_patients(pair)
    dst = _dest_patients(pair)
    assert all(len(v) == 1 for v in dst.values()), "a delta created a duplicate"
    assert set(dst) == set(src)
    assert {k: v[0] for k, v in dst.items()} == src
    touched = {str(i) for m in (first, second) for k in ("created", "updated") for i in m[k]}
    gone = {str(i) for m in (first, second) for i in m["deleted"]}
    assert touched - gone <= set(dst) and not gone & set(dst)
