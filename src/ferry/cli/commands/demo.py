"""``ferry demo``: the whole flow on a generated practice against local sandboxes.

It starts the source and destination emulators on free ports of 127.0.0.1, writes a project
wired to them (secrets in this process's environment only) and runs every verb through the same
command code a user runs, printing a summary and the report paths. ``--rollback`` then reverts
the run and shows the destination empty again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ferry.cli.console import console, print_path
from ferry.errors import FerryError
from ferry.phi import scrub

DEMO_DIR = typer.Option(Path("demo-project"), "--dir", help="project folder to (re)create")


def _dest_counts(project: Any) -> dict[str, int]:
    """Live records per destination object the map writes, read through the connector."""
    from ferry.engine.pipeline import open_destination
    from ferry.mapping.mapping_file import load

    targets = sorted({om.target for om in load(project.mapping_path).objects
                      if om.mode in ("record", "attach")})
    dest = open_destination(project)
    live = {o.name for o in dest.describe()}
    try:
        return {t: sum(1 for _ in dest.iter_ids(t)) if t in live else 0 for t in targets}
    finally:
        dest.close()


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(directory: Path = DEMO_DIR,
             patients: int = typer.Option(500, help="size of the generated practice"),
             seed: int = typer.Option(1, help="the practice's country is seed % 5: 0 GB,"
                                      " 1 AU, 2 NL, 3 ES, 4 US"),
             source: str = typer.Option(
                 "practicehub", help="source: practicehub, pulse, fhir (sandboxes) or clinic_csv"
                 " (a generated export folder of CSV and XLSX files)"),
             destination: str = typer.Option("pipedrive", help="destination sandbox"),
             time_scale: float = typer.Option(
                 20.0, help="sandbox clock speed-up: rate limits and waits shrink by this"),
             rollback: bool = typer.Option(False, "--rollback",
                                           help="roll the run back at the end"),
             delta: bool = typer.Option(
                 False, "--delta", help="after the run: staff change the source as that"
                 " system shows it (edits and additions, then deletions), with ferry delta"
                 " after each, and reconcile again"),
             surface: str = typer.Option(
                 "documented", help="sandboxes serve only what the services document"
                 " (documented) or also what we assumed (extended)"),
             keep: bool = typer.Option(
                 False, "--keep", help="keep the sandboxes running after the demo (until"
                 " Ctrl-C), so ferry rollback, status or ui can use them from another shell"),
             ) -> None:
        """Run check → extract → audit → map → prepare → sample → run → reconcile → guide."""
        from ferry.sandbox.harness import start_pair

        console.rule("[bold]ferry demo")
        # A demo account big enough for the practice: Pipedrive's daily token budget grows with
        # plan and seats (a real 500-patient migration on one Growth seat takes two days).
        dest_extra = {"plan": "ultimate", "seats": 10} if destination == "pipedrive" else {}
        key_env = demo_key_env(directory)
        pair = start_pair(directory, source=source, destination=destination,
                          patients=patients, seed=seed, time_scale=time_scale,
                          dest_extra=dest_extra, key_env=key_env, surface=surface)
        key_line = _keep_key(key_env, pair.env[key_env])
        console.print(f"sandboxes: {source} at {pair.source_info['base_url']},"
                      f" {destination} at {pair.dest_info['base_url']} (time scale"
                      f" {time_scale:g}x: every limit window and wait is {time_scale:g}x shorter)")
        console.print(f"generated practice: {patients} patients (seed {seed}: a"
                      f" practice in {pair.practice.country}, {pair.practice.timezone})")
        print_path("project:", pair.project.root, indent=0)
        steps: list[tuple[str, list[str]]] = [
            ("check", ["check"]), ("extract", ["extract"]), ("audit", ["audit"]),
            ("map", ["map"]), ("map --confirm", ["map", "--confirm", "--by", "ferry demo"]),
            ("prepare", ["prepare"]), ("sample", ["sample", "--size", "200"]),
            ("run", ["run"]), ("reconcile", ["reconcile"]), ("guide", ["guide"])]
        if delta:
            steps[-1:-1] = [("delta", ["delta"]), ("delta with deletions", ["delta"]),
                            ("reconcile after delta", ["reconcile"])]
        if rollback:
            steps.append(("rollback", ["rollback", "--yes"]))
        # the steps run through an app with every verb: a shell's ``ferry demo`` registered
        # only the demo's own command (ferry.cli.app.main builds one verb's app)
        from ferry.cli.app import build_app

        verbs = build_app()
        rows: list[tuple[str, str, float]] = []
        try:
            counts_after_run: dict[str, int] = {}
            before: dict[str, int] | None = None
            staged: Any = None  # the clinic's changes in two steps (sandbox.cutover)
            for label, args in steps:
                if label == "prepare" and pair.project.mapping_path.exists():
                    before = _safe_counts(pair.project)  # what was there before Ferry wrote
                if label == "rollback":
                    counts_after_run = _dest_counts(pair.project)
                if label == "map --confirm":
                    console.print("[yellow]The demo confirms the proposed map automatically; a"
                                  " real migration waits for a person to review mapping.yaml."
                                  "[/]")
                    _settle_reviews(pair.project.mapping_path)
                if label == "delta":
                    staged = _staff_changes(pair, None)
                if label == "delta with deletions":
                    _staff_changes(pair, staged)
                console.rule(f"ferry {label}")
                t0 = time.monotonic()
                code = _invoke(verbs, [*args, "-p", str(directory)])
                rows.append((label, "ok" if code == 0 else f"exit {code}",
                             time.monotonic() - t0))
            table = Table(title="ferry demo summary")
            for c in ("step", "result", "seconds"):
                table.add_column(c)
            for label, result, secs in rows:
                style = "green" if result == "ok" else "red"
                table.add_row(label, f"[{style}]{result}[/]", f"{secs:.1f}")
            console.print(table)
            print_path("reports:", directory / "reports", indent=0)
            try:
                counts = _dest_counts(pair.project)
            except FerryError as exc:
                console.print(f"[red]could not count the destination's records: {exc}[/]")
                counts = {}
            held = counts_after_run or counts
            console.print(f"{destination} held after the run: " + (", ".join(
                f"{k} {v}" for k, v in sorted(held.items()) if v) or "nothing"))
            if rollback:
                base = before or {}
                left = {k: v - base.get(k, 0) for k, v in counts.items() if v != base.get(k, 0)}
                there = sum(base.values())
                console.print("after rollback the destination holds "
                              + ("[green]what it held before the run[/]" if not left else
                                 f"[red]{sum(left.values()):+d} records against before the"
                                 " run[/]") + (f" ({there} records were there already)"
                                               if there else " (nothing)"))
            if key_line:
                console.print("this project's key (not stored anywhere else):")
                console.print(f"  {key_line}", soft_wrap=True, highlight=False)
            _after(pair, directory, key_line, keep)
        finally:
            pair.stop()
        if any(r != "ok" for _, r, _ in rows):
            raise typer.Exit(1)


def rollback_lines(pair: Any, directory: Path, key_line: str | None) -> list[str]:
    """What another shell runs to roll this demo's run back while its sandboxes are up: the
    sandboxes' own (throwaway) credentials and the project's key, then ``ferry rollback``."""
    lines = [f"export {k}={v}" for k, v in sorted(pair.env.items())
             if not k.startswith("FERRY_DEMO_KEY_")]
    if key_line:
        lines.append(key_line)
    lines.append(f"ferry rollback -p {directory}")
    return lines


def _after(pair: Any, directory: Path, key_line: str | None, keep: bool) -> None:
    """The sandboxes hold the destination's records only while this process runs: say how to
    roll back from another shell (``--keep``), and with ``--keep`` wait until Ctrl-C."""
    if not keep:
        console.print("the sandboxes stop now, and the destination's records with them; to"
                      " roll back (or use ferry ui) from another shell, run the demo with"
                      " --keep")
        return
    console.print("sandboxes stay up until Ctrl-C; from another shell, roll the run back with:")
    for line in rollback_lines(pair, directory, key_line):
        console.print(f"  {line}", soft_wrap=True, highlight=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopping the sandboxes")


def _staff_changes(pair: Any, staged: Any) -> Any:
    """Change the source as clinic staff would during the cutover, the way that system shows
    it (``ferry.sandbox.cutover``: the plan ``bench/truth.py`` checks against): first edits
    and additions (``staged`` None; returns the two steps), then the deletions."""
    import datetime as dt

    from ferry.sandbox import cutover

    source = cutover.source_name(pair)
    if staged is None:
        today = dt.datetime.now(dt.UTC).date().isoformat()
        staged = cutover.stages(cutover.plan(pair.practice, today,
                                             source in cutover.WITH_DOCUMENTS))
        cutover.apply(pair, source, pair.source_sandbox, staged[0])
        step = staged[0]
        made = [f"{len(step.sets)} record(s) edited",
                f"{(step.new_patient is not None) + (step.new_document is not None)} added"]
    else:
        cutover.apply(pair, source, pair.source_sandbox, staged[1], before=staged[0])
        made = [f"{len(staged[1].deletes)} deleted"]
    how = {"clinic_csv": "a newer export in the folder", "pulse_export": "a newer export in"
           " the folder"}.get(source, "at the source")
    console.print(f"staff change the practice ({how}): {', '.join(made)}")
    return staged


def _safe_counts(project: Any) -> dict[str, int] | None:
    try:
        return _dest_counts(project)
    except FerryError:
        return None


def demo_key_env(directory: Path) -> str:
    """The variable naming one demo folder's encryption key: its own, so a second demo in
    another folder does not replace the key the first one's staged data needs."""
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8].upper()
    return f"FERRY_DEMO_KEY_{digest}"


def _keep_key(name: str, value: str) -> str | None:
    """Keep the demo's key where Ferry looks for secrets after this process ends: the OS
    keyring (service 'ferry') when one works, else say the one line that sets it."""
    try:
        import keyring  # type: ignore[import-not-found]

        keyring.set_password("ferry", name, value)
        if keyring.get_password("ferry", name) == value:
            console.print(f"encryption key stored in the keyring (service 'ferry', {name})")
            return None
    except Exception:  # noqa: BLE001, S110 - no keyring or no backend: say the line instead
        pass
    line = f"export {name}={value}"
    console.print("no OS keyring: to use this demo project from another shell (ferry ui,"
                  " status, review), set its encryption key first:")
    console.print(f"  {line}", soft_wrap=True, highlight=False)
    return line


def _settle_reviews(path: Path) -> None:
    """The demo's reviewer: each ``status: review`` line gets the cautious decision."""
    from ferry.mapping import mapping_file
    from ferry.mapping.review import leave_out_invalid, settle_reviews

    if not path.exists():
        return
    doc = mapping_file.load(path)
    decided = settle_reviews(doc)
    left_out = leave_out_invalid(doc)
    if left_out:
        console.print(f"the demo accepts migrating without invalid phone numbers ({len(left_out)}"
                      " field(s) set on_invalid: leave_out; the audit lists each one)")
    if decided or left_out:
        from ferry.engine.mapflow import HEADER

        mapping_file.save(doc, path, HEADER.format(src=doc.source, dst=doc.destination,
                                                   recipe=doc.recipe))
        if decided:
            console.print(f"the demo decided {len(decided)} review line(s) the cautious way:")
        for line in decided:
            console.print(f"  {line}")


def _invoke(app: typer.Typer, args: list[str]) -> int:
    """Run one verb through the real command code; returns its exit status."""
    try:
        # without standalone mode click hands back a command's exit status instead of exiting
        result = app(args, standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - one failed step is reported, the demo goes on
        console.print(f"[red]{scrub.safe_error(exc)}[/]")
        return 2
    return result if isinstance(result, int) else 0
