"""Start a source sandbox and a destination sandbox and make a project pointing at both.

Shared by ``ferry demo``, the end-to-end tests and the benchmarks, so all three exercise the
same wiring a user's ferry.yaml would.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.engine.project import Project
from ferry.model.crypto import new_key
from ferry.sandbox.clinic_export import write_clinic_export
from ferry.sandbox.profiles import profile
from ferry.sandbox.registry import SandboxOptions, serve
from ferry.sandbox.synth import Practice
from ferry.settings import ConnectorSettings, Options, Settings, save_settings

FALLBACK_OWNER = "migration.owner@clinic.example"


@dataclass
class Pair:
    project: Project
    source_info: dict[str, Any]
    dest_info: dict[str, Any]
    practice: Practice
    env: dict[str, str]
    servers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for s in self.servers:
            s.stop()
        self.servers.clear()


def start_pair(directory: Path, *, source: str = "practicehub", destination: str = "pipedrive",
               patients: int = 200, seed: int = 1, time_scale: float = 50.0,
               source_faults: str = "", dest_faults: str = "",
               source_extra: dict[str, Any] | None = None,
               dest_extra: dict[str, Any] | None = None,
               options: dict[str, Any] | None = None, fresh: bool = True,
               env_prefix: str = "FERRY_DEMO_", encrypt: bool = True,
               key_env: str | None = None, store: str | None = None,
               surface: str = "extended") -> Pair:
    """Sandboxes on free ports + a project folder at ``directory`` wired to them (staging in
    the folder's SQLite file, or in the PostgreSQL database ``store`` names).

    ``surface`` defaults to ``extended`` (every assumed endpoint too): the end-to-end tests
    check the whole canonical model; ``ferry demo`` passes its ``--surface`` (``documented``
    by default, as a real account would answer)."""
    if fresh and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    practice = Practice(seed=seed, patients=patients)
    users = [*practice.crm_user_emails(), FALLBACK_OWNER]
    servers: list[Any] = []
    if source == "clinic_csv":  # a file source: a generated export folder, no server
        export = directory / "clinic-export"
        write_clinic_export(export, practice)
        src_info: dict[str, Any] = {"kind": source, "base_url": str(export), "credentials": {}}
    else:
        src_run, src_info = serve(source, SandboxOptions(seed=seed, patients=patients,
                                                         time_scale=time_scale,
                                                         faults=source_faults, surface=surface,
                                                         extra=source_extra or {}))
        servers.append(src_run)
    dst_run, dst_info = serve(destination, SandboxOptions(seed=seed, time_scale=time_scale,
                                                          faults=dest_faults, users=users,
                                                          surface=surface,
                                                          extra=dest_extra or {}))
    src_settings, src_env = profile(source, src_info, time_scale=time_scale,
                                    env_prefix=env_prefix)
    dst_settings, dst_env = profile(destination, dst_info, time_scale=time_scale,
                                    env_prefix=env_prefix)
    env = {**src_env, **dst_env}
    opts = dict(options or {})
    if encrypt:  # staged PHI is encrypted at rest, as in a real project
        key_env = key_env or f"{env_prefix}ENCRYPTION_KEY"
        env[key_env] = new_key()
        opts.setdefault("encrypt_at_rest", True)
        opts.setdefault("encryption_key_env", key_env)
    os.environ.update(env)
    settings = Settings(project=directory.name,
                        source=ConnectorSettings(**src_settings),
                        destination=ConnectorSettings(**dst_settings),
                        options=Options(fallback_owner_email=FALLBACK_OWNER, **opts),
                        store=store)
    save_settings(settings, directory / "ferry.yaml")
    return Pair(Project.at(directory), src_info, dst_info, practice, env, [*servers, dst_run])
