"""Property tests of the CSV and NDJSON readers: never crash, never lose a good row.

Good rows are written the way a correct exporter writes them (``csv.writer``, ``json.dumps``)
and shuffled among junk lines. Junk may hold stray quotes, delimiters, bad bytes and broken
JSON; a junk line is allowed to fail (as a RowError) but not to take a good row with it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferry.errors import RecordError
from ferry.model.entities import Record
from ferry.sources.clinic_csv import create as csv_source
from ferry.sources.fhir_bulk import create as fhir_source

FAST = settings(max_examples=int(os.environ.get("FERRY_FUZZ_EXAMPLES", "120")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=st.sampled_from(list("abcxyz ÉéÜ,;\"'\n\t-/.0123")), max_size=20)
JUNK = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab,;\"' x1{}[]:")), min_size=1, max_size=25),
    st.binary(min_size=1, max_size=20).map(lambda b: b.replace(b"\n", b" ").decode("latin-1")),
)


def _read(src, obj: str) -> tuple[list[Record], list[RecordError]]:  # noqa: ANN001
    import asyncio

    async def go() -> tuple[list[Record], list[RecordError]]:
        recs: list[Record] = []
        errs: list[RecordError] = []
        async for page in src.read(obj):
            recs += page.records
            errs += page.errors  # type: ignore[arg-type]
        return recs, errs

    return asyncio.run(go())


def _junk_line(j: str) -> str:
    """Junk never starts a cell with a quote it does not close (that would be a multi-line
    cell by CSV's own rules, which no reader can tell from a broken one)."""
    cells = j.split(",")
    return ",".join(c if not c.startswith('"') or c.count('"') % 2 == 0 else "x" + c
                    for c in cells)


@FAST
@given(good=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=12),
       junk=st.lists(JUNK, max_size=6), seed=st.randoms(use_true_random=False))
def test_csv_reader_keeps_every_good_row(good, junk, seed) -> None:  # noqa: ANN001
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "first_name", "last_name"])
    lines = []
    for i, (name, note) in enumerate(good):
        one = io.StringIO()
        csv.writer(one, lineterminator="\n").writerow([f"id{i}", name, note])
        lines.append(one.getvalue())
    lines += [_junk_line(j) + "\n" for j in junk]
    seed.shuffle(lines)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "patients.csv").write_bytes((buf.getvalue() + "".join(lines)).encode("utf-8"))
        # Layout fixed: with more junk lines than rows, sniffing has nothing to go on; the
        # property here is about rows (sniffing has its own tests and the bytes fuzz below).
        cfg = {"path": d, "encoding": "utf-8", "delimiter": ",", "header_row": 1}
        recs, errs = _read(csv_source(cfg, Path(d)), "patient")
    got = {(r.source_id, r.first_name or "", r.last_name or "") for r in recs}
    for i, (name, note) in enumerate(good):
        assert (f"id{i}", name.strip(), note.strip()) in got
    assert all(isinstance(e, RecordError) for e in errs)


@FAST
@given(data=st.binary(max_size=600))
def test_csv_reader_never_crashes_on_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "patients.csv").write_bytes(b"id,first_name,dob\n" + data)
        recs, errs = _read(csv_source({"path": d}, Path(d)), "patient")
    assert all(isinstance(e, RecordError) for e in errs)
    assert all(isinstance(r, Record) for r in recs)


@FAST
@given(good=st.lists(st.tuples(TEXT, st.dates().map(str)), min_size=1, max_size=10),
       junk=st.lists(JUNK, max_size=6), seed=st.randoms(use_true_random=False))
def test_ndjson_reader_keeps_every_good_line(good, junk, seed) -> None:  # noqa: ANN001
    lines = [json.dumps({"resourceType": "Patient", "id": f"p{i}", "birthDate": born,
                         "name": [{"family": name or "x"}]}) for i, (name, born) in
             enumerate(good)]
    lines += junk
    seed.shuffle(lines)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "Patient.000.ndjson").write_bytes("\n".join(lines).encode("utf-8", "replace"))
        src = fhir_source({"mode": "folder", "path": d}, Path(d) / "work")
        recs, errs = _read(src, "patient")
    ids = {r.source_id for r in recs}
    assert {f"p{i}" for i in range(len(good))} <= ids
    assert all(isinstance(e, RecordError) for e in errs)


@FAST
@given(data=st.binary(max_size=600))
def test_ndjson_reader_never_crashes_on_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "Patient.000.ndjson").write_bytes(data)
        src = fhir_source({"mode": "folder", "path": d}, Path(d) / "work")
        for obj in ("patient", "practitioner_patient"):
            recs, errs = _read(src, obj)
            assert all(isinstance(e, RecordError) for e in errs)
