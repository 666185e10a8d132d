"""Read-only views of a project for the pages: where it stands, what a rollback would undo.

Everything here reads the staging store, the audit log and the files in the project folder —
the same sources ``ferry status`` reads — and returns plain data for the templates. Nothing
here returns a record's field values: pages outside the PHI review show references and counts.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.engine.project import Project
from ferry.errors import FerryError
from ferry.model.entities import ENTITIES


@dataclass
class Step:
    verb: str
    label: str
    done: bool
    detail: str = ""
    href: str = "/runs"


def _last_done(project: Project, kind: str) -> Any:
    runs = [r for r in project.store.runs(kind) if r.status == "done"]
    return runs[-1] if runs else None


def _reports(project: Project, verb: str) -> list[Path]:
    d = project.root / "reports" / verb
    return sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime) if d.is_dir() else []


_DOCS: dict[Path, tuple[tuple[int, int], Any]] = {}
_DOCS_LOCK = threading.Lock()


def mapping_doc(project: Project) -> Any:
    """mapping.yaml parsed, cached while the file is unchanged (a big map takes a second to
    parse, and every page shows its state). Treat the result as read-only."""
    from ferry.mapping.mapping_file import load

    path = project.mapping_path
    st = path.stat()
    key = (st.st_mtime_ns, st.st_size)
    with _DOCS_LOCK:
        hit = _DOCS.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
    doc = load(path)
    with _DOCS_LOCK:
        _DOCS[path] = (key, doc)
    return doc


def remember(project: Project, doc: Any) -> None:
    """Cache the doc an edit just wrote (it is what the file now parses to)."""
    st = project.mapping_path.stat()
    with _DOCS_LOCK:
        _DOCS[project.mapping_path] = ((st.st_mtime_ns, st.st_size), doc)


def mapping_state(project: Project) -> tuple[str, str]:
    """('missing' | 'unconfirmed' | 'changed' | 'invalid' | 'confirmed', detail)."""
    from ferry.mapping.mapping_file import content_hash

    if not project.mapping_path.exists():
        return "missing", "no mapping.yaml yet"
    try:
        doc = mapping_doc(project)
    except FerryError as exc:
        return "invalid", str(exc)
    if doc.confirmed is None:
        review = sum(1 for om in doc.objects for fm in om.fields if fm.status == "review")
        return "unconfirmed", f"not confirmed; {review} field(s) in review"
    if doc.confirmed.hash != content_hash(doc):
        return "changed", "changed after it was confirmed: confirm again"
    return "confirmed", f"confirmed by {doc.confirmed.by} at {doc.confirmed.at}"


def phi_counts(project: Project) -> dict[str, int]:
    from ferry.phi import queue

    return queue.counts(project.store)


def steps(project: Project) -> list[Step]:
    """The migration steps in order, each done only when its verdict is good (a sample that did
    not pass, a reconciliation that did not balance are still to do), with a one-line detail."""
    from ferry.reports.progress import verdicts

    m_state, m_detail = mapping_state(project)
    ext, prep = _last_done(project, "extract"), _last_done(project, "prepare")
    phi = phi_counts(project)
    guide = _reports(project, "guide")
    v = verdicts(project)
    staged = sum(project.store.counts().values())
    return [
        Step("check", "Check connections and the BAA", v["check"].done, v["check"].detail),
        Step("extract", "Extract the source", ext is not None,
             f"{staged} records staged" if ext else "nothing staged yet"),
        Step("map", "Propose the mapping", m_state != "missing", m_detail, "/mapping"),
        Step("confirm", "Review and confirm the mapping", m_state == "confirmed", m_detail,
             "/mapping"),
        Step("prepare", "Prepare the destination", prep is not None,
             f"run {prep.run_id}" if prep else "custom fields not created yet"),
        Step("owners", "Check owners (fallback owner)",
             bool(project.settings.options.fallback_owner_email),
             project.settings.options.fallback_owner_email or "no fallback owner set",
             "/owners"),
        Step("sample", "Run a sample and read its diff", v["sample"].done,
             _with_next(v["sample"]), "/reports?verb=sample"),
        Step("review", "Review flagged PHI", bool(phi) and not phi.get("pending"),
             ", ".join(f"{k} {v}" for k, v in sorted(phi.items())) or "not scanned yet",
             "/phi"),
        Step("run", "Run the full load", v["run"].done, _with_next(v["run"])),
        Step("reconcile", "Reconcile", v["reconcile"].done, _with_next(v["reconcile"]),
             "/reports?verb=reconcile"),
        Step("guide", "Rebuild guide", bool(guide), "written" if guide else "not written yet",
             "/guide"),
    ]


def _with_next(v: Any) -> str:
    return v.detail if v.done or not v.next else f"{v.detail}: {v.next}"


def counts(project: Project) -> list[dict[str, Any]]:
    """Records per object: staged, loaded (in the id map), skipped."""
    store = project.store
    staged, mapped, skipped = store.counts(), store.mapped_counts(), store.skip_counts()
    seen = set(staged) | set(mapped) | set(skipped)
    order = [o for o in ENTITIES if o in seen] + sorted(seen - set(ENTITIES))
    return [{"object": o, "staged": staged.get(o, 0), "loaded": mapped.get(o, 0),
             "skipped": skipped.get(o, 0)} for o in order]


def rollback_preview(project: Project, run_id: str | None = None) -> dict[str, Any]:
    """What ``ferry rollback`` would undo: its target runs and, per run, the writes it would
    revert — the very entries the rollback walks (``rollback._todo``: done, not yet undone,
    updates of records it deletes anyway left out) — as counts by operation and object plus
    the first references. Before-images are not shown (they are record values)."""
    from ferry.engine.rollback import _todo, target_runs

    runs = target_runs(project.store, run_id)
    ops: dict[str, Counter[tuple[str, str]]] = {r: Counter() for r in runs}
    first: dict[str, list[dict[str, Any]]] = {r: [] for r in runs}
    for e in _todo(project.audit, runs):
        ops[e.run_id][(e.op, e.dest_object)] += 1
        if len(first[e.run_id]) < 25:
            first[e.run_id].append({"seq": e.seq, "op": e.op, "object": e.dest_object,
                                    "dest_id": e.dest_id, "source": e.src_ref or ""})
    infos = {r.run_id: r for r in project.store.runs()}
    out = []
    for r in runs:
        info = infos.get(r)
        out.append({"run_id": r, "kind": info.kind if info else "?",
                    "status": info.status if info else "?",
                    "started": info.started_at if info else "",
                    "undo": [{"op": op, "object": obj, "count": n}
                             for (op, obj), n in sorted(ops[r].items())],
                    "writes": sum(ops[r].values()), "first": first[r]})
    return {"runs": out, "total": sum(r["writes"] for r in out)}


def reports(project: Project, verb: str | None = None) -> list[dict[str, Any]]:
    """Report files under <project>/reports, newest first (never following symlinks)."""
    root = project.root / "reports"
    if not root.is_dir() or root.is_symlink():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if not d.is_dir() or d.is_symlink() or (verb and d.name != verb):
            continue
        for f in d.iterdir():
            if f.suffix == ".json" and f.is_file() and not f.is_symlink():
                html = f.with_suffix(".html")
                out.append({"verb": d.name, "name": f.stem, "json": f"{d.name}/{f.name}",
                            "html": f"{d.name}/{html.name}" if html.is_file()
                            and not html.is_symlink() else None,
                            "mtime": f.stat().st_mtime})
    return sorted(out, key=lambda r: -r["mtime"])
