"""Talking to Temporal: run a worker, submit a migration, signal it, read its state.

A migration's workflow id is ``ferry-<project schema name>`` (one workflow per project), so
``submit`` twice for a running project is refused by the server rather than starting a second
copy, and every command finds the workflow from the project folder alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal as signals
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from ferry.engine.project import Project
from ferry.errors import ConfigError
from ferry.fleet.workflow import MigrationInput, MigrationWorkflow
from ferry.model.stores import schema_for

TASK_QUEUE = "ferry"
SIGNALS = {"map-confirmed": "map_confirmed", "phi-decided": "phi_decided", "go": "go",
           "no-go": "go", "cutover": "cutover", "rollback": "rollback"}


def workflow_id(project_dir: Path | str) -> str:
    return "ferry-" + schema_for(Project.at(project_dir).settings.project).removeprefix("ferry_")


def connection_options(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """How to reach the Temporal cluster, from the environment (never from a project file):
    ``FERRY_TEMPORAL_NAMESPACE`` (else ``default``), ``FERRY_TEMPORAL_API_KEY`` (Temporal
    Cloud; implies TLS), ``FERRY_TEMPORAL_TLS_CERT`` and ``_KEY`` (a client certificate and its
    key for mTLS, PEM file paths) and ``FERRY_TEMPORAL_TLS_CA`` (the server's CA, when it is not
    a public one). Workers, ``submit``, ``signal`` and ``status`` read the same variables."""
    opts: dict[str, Any] = {"namespace": env.get("FERRY_TEMPORAL_NAMESPACE") or "default"}
    cert, key, ca = (env.get(f"FERRY_TEMPORAL_TLS_{k}") for k in ("CERT", "KEY", "CA"))
    if bool(cert) != bool(key):
        raise ConfigError("set FERRY_TEMPORAL_TLS_CERT and FERRY_TEMPORAL_TLS_KEY together"
                          " (the client certificate and its key)")

    def pem(name: str, path: str | None) -> bytes | None:
        if not path:
            return None
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read {path} ({exc.strerror})") from None

    if cert or ca:
        from temporalio.service import TLSConfig

        opts["tls"] = TLSConfig(client_cert=pem("FERRY_TEMPORAL_TLS_CERT", cert),
                                client_private_key=pem("FERRY_TEMPORAL_TLS_KEY", key),
                                server_root_ca_cert=pem("FERRY_TEMPORAL_TLS_CA", ca))
    if env.get("FERRY_TEMPORAL_API_KEY"):
        opts["api_key"] = env["FERRY_TEMPORAL_API_KEY"]
        opts.setdefault("tls", True)
    return opts


async def connect(target: str, namespace: str | None = None) -> Client:
    opts = connection_options()
    if namespace:
        opts["namespace"] = namespace
    return await Client.connect(target, **opts)


async def run_worker(target: str, *, task_queue: str = TASK_QUEUE, activities: int = 4,
                     namespace: str | None = None, stop: asyncio.Event | None = None) -> None:
    """Poll ``task_queue`` until ``stop`` is set (or SIGTERM/SIGINT); activities in threads."""
    from ferry.fleet.activities import ACTIVITIES

    client = await connect(target, namespace)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signals.SIGTERM, signals.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    with concurrent.futures.ThreadPoolExecutor(max_workers=activities) as pool:
        worker = Worker(client, task_queue=task_queue, workflows=[MigrationWorkflow],
                        activities=ACTIVITIES, activity_executor=pool,
                        max_concurrent_activities=activities)
        async with worker:
            await stop.wait()


async def submit(client: Client, project_dir: Path | str, *, task_queue: str = TASK_QUEUE,
                 **options: Any) -> WorkflowHandle[Any, Any]:
    """Start the migration workflow of ``project_dir`` (options: see ``MigrationInput``)."""
    root = str(Path(project_dir).resolve())
    return await client.start_workflow(MigrationWorkflow.run, MigrationInput(root, **options),
                                       id=workflow_id(root), task_queue=task_queue)


def handle(client: Client, project_dir: Path | str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(workflow_id(project_dir))


async def state(client: Client, project_dir: Path | str) -> dict[str, Any]:
    h = handle(client, project_dir)
    out: dict[str, Any] = dict(await h.query(MigrationWorkflow.state))
    desc = await h.describe()
    out["workflow"] = {"id": h.id, "status": desc.status.name if desc.status else None}
    return out


async def send(client: Client, project_dir: Path | str, name: str) -> None:
    """Send one of ``SIGNALS`` (``go`` / ``no-go`` carry the decision)."""
    if name not in SIGNALS:
        raise ValueError(f"unknown signal {name!r}; one of {', '.join(SIGNALS)}")
    h = handle(client, project_dir)
    if SIGNALS[name] == "go":
        await h.signal(SIGNALS[name], name == "go")
    else:
        await h.signal(SIGNALS[name])
