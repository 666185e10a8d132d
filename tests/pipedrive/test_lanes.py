"""The writer's row lanes are threads kept between calls: a second create reuses the first
one's helpers (none started per call), rows come back in order, and ``close`` ends them."""

from __future__ import annotations

import threading


def _helpers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("pipedrive-")}


def test_lanes_kept_between_calls_and_ended_by_close(pd) -> None:
    h = pd()
    d = h.dest(workers=4)
    before = _helpers()
    first = d.create("organization", [{"name": f"Clinic {i}"} for i in range(8)])
    kept = _helpers() - before
    assert len(kept) == 3  # the calling thread is the fourth lane
    second = d.create("organization", [{"name": f"Clinic {i}"} for i in range(8, 16)])
    assert _helpers() - before == kept  # the same threads, none new
    names = d.read("organization", [r.dest_id for r in first + second])
    assert [names[r.dest_id]["name"] for r in first + second] == \
        [f"Clinic {i}" for i in range(16)]
    d.close()
    for t in kept:
        t.join(5)
    assert not any(t.is_alive() for t in kept)


def test_a_group_of_uploads_runs_on_the_lanes_each_file_once(pd, tmp_path) -> None:
    """``upload_many`` sends a group's files ``workers`` at a time (before: one after the
    other), under lost answers and 5xx: every file lands once, tagged with its own source id,
    results in order; two files of one name on one parent included."""
    from ferry.connectors.base import FileUpload

    h = pd(faults="truncate=0.12,drop=0.06,500=0.06")
    d = h.dest(workers=4)
    [person] = d.create("person", [{"name": "Ann"}])
    assert person.ok
    before = _helpers()
    files = []
    for i in range(10):
        f = tmp_path / f"doc{i}.txt"
        f.write_bytes(b"y" * (100 + i))
        files.append(FileUpload("person", str(person.dest_id), f, f.name, "text/plain",
                                {"_source_id": f"D{i}"}))
    twin = tmp_path / "twin.txt"
    twin.write_bytes(b"same")
    twins = [FileUpload("person", str(person.dest_id), twin, "twin.txt", "text/plain",
                        {"_source_id": f"W{i}"}) for i in range(2)]
    results = d.upload_many(files)
    assert len(_helpers() - before) == 3  # the group ran on the lanes
    results += d.upload_many(twins)
    assert all(r.ok for r in results)
    rows = {str(f["id"]): f for f in h.state()["records"]["file"]}
    assert len(rows) == 12
    tags = [rows[r.dest_id]["description"] for r in results]
    assert tags == [f"[ferry-id:D{i}]" for i in range(10)] + ["[ferry-id:W0]", "[ferry-id:W1]"]
