"""``ferry worker`` / ``ferry submit`` / ``ferry signal``: migrations as Temporal workflows.

Workers run Ferry's verbs as activities; ``submit`` starts a project's migration workflow,
``signal`` hands it a person's decision, and ``ferry status --temporal`` reads its state.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, project_at
from ferry.cli.console import console

TemporalOpt = typer.Option(..., "--temporal", help="Temporal frontend HOST:PORT")
QueueOpt = typer.Option("ferry", "--task-queue", help="task queue the workers poll")


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(temporal: str = TemporalOpt, task_queue: str = QueueOpt,
               activities: int = typer.Option(4, help="activities run at once by this worker"),
               namespace: str = typer.Option("", help="Temporal namespace (default:"
                                             " $FERRY_TEMPORAL_NAMESPACE, else 'default')")
               ) -> None:
        """Run Ferry's verbs for migration workflows until stopped (SIGTERM/SIGINT).

        Connector secrets and the store password come from this process's environment."""
        from ferry.fleet.client import run_worker

        console.print(f"worker: polling {task_queue!r} on {temporal} ({activities} activities)")
        asyncio.run(run_worker(temporal, task_queue=task_queue, activities=activities,
                               namespace=namespace or None))

    @app.command()
    def submit(project: Path = ProjectOpt, temporal: str = TemporalOpt,
               task_queue: str = QueueOpt,
               sample_size: int = typer.Option(0, help="records to sample (0: options.sample_size)"),
               delta_every: float = typer.Option(15.0, help="minutes between delta passes"
                                                  " during the cutover window")) -> None:
        """Start the project's migration as one workflow; it waits for people's signals."""
        from ferry.fleet.client import connect
        from ferry.fleet.client import submit as start

        proj = project_at(project)
        size = sample_size or proj.settings.options.sample_size

        async def go() -> str:
            h = await start(await connect(temporal), proj.root, task_queue=task_queue,
                            sample_size=size, delta_every_s=delta_every * 60)
            return str(h.id)

        console.print(f"submitted: workflow {asyncio.run(go())}")

    @app.command()
    def signal(name: str = typer.Argument(..., help="map-confirmed, phi-decided, go, no-go,"
                                                    " cutover or rollback"),
               project: Path = ProjectOpt, temporal: str = TemporalOpt) -> None:
        """Hand a running migration a person's decision."""
        from ferry.fleet.client import connect, send

        proj = project_at(project)

        async def go() -> None:
            await send(await connect(temporal), proj.root, name)

        asyncio.run(go())
        console.print(f"sent {name}")


def print_state(project: Path, temporal: str, as_json: bool) -> None:
    """``ferry status --temporal``: the workflow's own view of the migration."""
    from ferry.fleet.client import connect, state

    async def go() -> dict:  # type: ignore[type-arg]
        return await state(await connect(temporal), project)

    st = asyncio.run(go())
    if as_json:
        print(json.dumps(st, indent=2, default=str))  # noqa: T201 - machine output
        return
    wf = st.get("workflow", {})
    console.print(f"workflow {wf.get('id')}: {wf.get('status')}; phase [bold]{st['phase']}[/]"
                  + (f", waiting for [yellow]{st['waiting_for']}[/]" if st.get("waiting_for")
                     else ""))
    if st.get("extracted"):
        console.print("extracted: " + ", ".join(f"{k} {v}" for k, v in st["extracted"].items()))
    console.print(f"delta passes: {st.get('delta_passes', 0)}")
    for step, res in (st.get("results") or {}).items():
        console.print(f"  {step}: {json.dumps(res, default=str)[:160]}")
