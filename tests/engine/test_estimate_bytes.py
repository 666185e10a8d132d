"""``ferry estimate`` prices the files a step moves by their bytes (the model alone, and the
staged documents' sizes it reads; no sandbox).

Priced per call, a download of 8 KB and one of 8 MB cost the same: at 600 patients the
extract's 668 downloads (647 MB) took 21 s where 12 were estimated (Salesforce, main recipe,
7 December). The sizes come from what is known before the step: the source's listing (each
staged document's ``size``) or, with nothing staged, a typical file (``BYTES_PER_DOCUMENT``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.engine.estimate import (
    BYTES_PER_DOCUMENT,
    DESTINATIONS,
    SOURCES,
    contention,
    estimate,
    file_sizes,
)
from ferry.mapping.model import MappingDoc
from ferry.model.crypto import AesGcmCodec
from ferry.model.entities import Document
from ferry.model.staging import StagingStore

COUNTS = {"patient": 600, "appointment": 2400, "document": 668}


def _steps(file_bytes: dict[str, float] | None, dest: str = "salesforce",
           share: float = 0.3) -> dict[str, dict]:  # type: ignore[type-arg]
    out = estimate(COUNTS, source=SOURCES["practicehub"], destination=DESTINATIONS[dest],
                   sample_counts={"patient": 20, "appointment": 80, "document": 20},
                   cpu_share=share, file_bytes=file_bytes)
    return {s["step"]: s for s in out["steps"]}


def test_downloads_and_uploads_are_priced_by_their_bytes() -> None:
    small, big = _steps({"document": 100_000}), _steps({"document": 1_000_000})
    # the extract downloads every listed file; the run uploads what the sample did not
    assert small["extract"]["bytes"] == 668 * 100_000
    assert big["extract"]["bytes"] == 668 * 1_000_000
    assert big["load"]["bytes"] == (668 - 20) * 1_000_000
    assert big["sample"]["bytes"] == 20 * 1_000_000
    # each step's CPU grows by its price per byte on each thread, at the machine's contention
    for step, lim in (("extract", SOURCES["practicehub"]), ("load", DESTINATIONS["salesforce"])):
        main, other = lim.per_byte[step]
        grown = big[step]["cpu_seconds"] - small[step]["cpu_seconds"]
        moved = big[step]["bytes"] - small[step]["bytes"]
        assert abs(grown - moved * (main + other) * contention(0.3)) < 0.02, step
        assert big[step]["seconds"] > small[step]["seconds"]
    # the calls are the same: a file is one call whatever its size
    assert all(big[s]["calls"] == small[s]["calls"] for s in big)


def test_pipedrives_and_odoos_uploads_are_priced_by_their_bytes() -> None:
    # measured as Salesforce's were (the same practice at two document sizes): priced per
    # call alone, an upload of 8 KB cost what one of 8 MB did
    for dest in ("pipedrive", "odoo"):
        small, big = _steps({"document": 100_000}, dest), _steps({"document": 1_000_000}, dest)
        main, other = DESTINATIONS[dest].per_byte["load"]
        grown = big["load"]["cpu_seconds"] - small["load"]["cpu_seconds"]
        moved = big["load"]["bytes"] - small["load"]["bytes"]
        assert moved == (668 - 20) * 900_000
        assert abs(grown - moved * (main + other) * contention(0.3)) < 0.02, dest
        assert all(big[s]["calls"] == small[s]["calls"] for s in big)


def test_a_practice_without_sizes_is_priced_at_a_typical_file() -> None:
    assert _steps(None)["extract"]["bytes"] == 668 * BYTES_PER_DOCUMENT


def test_a_step_without_a_price_per_byte_does_not_move_with_the_bytes() -> None:
    # Pipedrive's reconcile reads no file back: the files' sizes do not change its time
    small, big = _steps({"document": 1e5}, "pipedrive"), _steps({"document": 1e6}, "pipedrive")
    assert "reconcile" not in DESTINATIONS["pipedrive"].per_byte
    assert small["reconcile"]["seconds"] == big["reconcile"]["seconds"]


def test_file_sizes_are_the_staged_listings(tmp_path: Path) -> None:
    store = StagingStore(tmp_path / "s.db", AesGcmCodec(bytes(range(32))))
    kept = tmp_path / "1.bin"
    kept.write_bytes(b"x")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    docs = [Document(source_id="1", file_name="a.pdf", size=3_000_000, local_path=str(kept),
                     created_at=at, updated_at=at),
            # listed, not downloaded (its link failed): downloaded, not uploaded
            Document(source_id="2", file_name="b.pdf", size=1_000_000, created_at=at,
                     updated_at=at),
            Document(source_id="3", file_name="c.pdf", created_at=at, updated_at=at)]
    store.put_page("document", docs, "document", "done")
    doc = MappingDoc.model_validate({"source": "practicehub", "destination": "salesforce",
                                    "objects": [
        {"name": "files", "source": "document", "target": "file", "mode": "attach",
         "parent": {"object": "patient", "via": "patient_id"}},
        {"name": "as_text", "source": "document", "target": "note", "mode": "attach",
         "parent": {"object": "patient", "via": "patient_id"}, "attach": {"content": "render"}}]})
    sizes = file_sizes(store, doc)
    assert sizes == {"document": 2_000_000, "files": 3_000_000}
    assert file_sizes(StagingStore(tmp_path / "empty.db", AesGcmCodec(bytes(range(32))))) == {}
