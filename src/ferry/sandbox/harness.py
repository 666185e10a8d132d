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
from ferry.sandbox.practicehub import account_zone
from ferry.sandbox.profiles import profile
from ferry.sandbox.pulse.export import write_export
from ferry.sandbox.registry import SandboxOptions, serve
from ferry.sandbox.synth import Practice
from ferry.settings import ConnectorSettings, Options, Settings, save_settings

FALLBACK_OWNER = "migration.owner@clinic.example"

#: how long a PracticeHub signed file link lives, in real seconds, whatever the time scale
LINK_TTL_REAL_S = 600.0


def sandbox_extra(kind: str, time_scale: float, extra: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """A sandbox's ``extra`` options as the tests, the demo and the benchmarks start it.

    PracticeHub's signed file links live 10 real minutes unless ``file_ttl_s`` is given: the
    documented 600 emulated seconds are 0.3 real seconds at 2000x while downloads run at real
    speed, so on a loaded machine a link expired between its listing and its download (the
    documented surface cannot renew one) and the run skipped the file. A link's lifetime is no
    limit for a time scale to divide away; a test of expiry passes its own ``file_ttl_s``."""
    out = dict(extra or {})
    if kind == "practicehub":
        out.setdefault("file_ttl_s", LINK_TTL_REAL_S * time_scale)
    return out


@dataclass
class Pair:
    project: Project
    source_info: dict[str, Any]
    dest_info: dict[str, Any]
    practice: Practice
    env: dict[str, str]
    servers: list[Any] = field(default_factory=list)
    #: what each variable ``start_pair`` exported held before (None: it was unset)
    env_before: dict[str, str | None] = field(default_factory=dict)
    #: the source's sandbox object (None for an export folder): ``sandbox.cutover`` changes it
    source_sandbox: Any = None

    def stop(self) -> None:
        for s in self.servers:
            s.stop()
        self.servers.clear()

    def close(self) -> None:
        """Stop the sandboxes and put back the environment variables ``start_pair`` set."""
        self.stop()
        for k, v in self.env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.env_before = {}

    def __enter__(self) -> Pair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_pair(directory: Path, *, source: str = "practicehub", destination: str = "pipedrive",
               patients: int = 200, seed: int = 1, time_scale: float = 50.0,
               source_time_scale: float | None = None,
               source_faults: str = "", dest_faults: str = "",
               source_extra: dict[str, Any] | None = None,
               dest_extra: dict[str, Any] | None = None,
               options: dict[str, Any] | None = None, fresh: bool = True,
               env_prefix: str = "FERRY_DEMO_", encrypt: bool = True,
               key_env: str | None = None, store: str | None = None,
               surface: str = "documented", dest_process: bool = False) -> Pair:
    """Sandboxes on free ports + a project folder at ``directory`` wired to them (staging in
    the folder's SQLite file, or in the PostgreSQL database ``store`` names).

    ``source_time_scale`` sets the source's time-scale apart from the destination's (benchmarks
    that pace each system differently). ``surface`` defaults to ``documented``, as each sandbox
    does and as a real account answers (PracticeHub serves only the resources public code
    shows, Pipedrive has contact sync off); a test that checks the objects only the assumed
    endpoints carry passes ``surface="extended"`` and says why. PracticeHub's file links live
    10 real minutes at any time scale (``sandbox_extra``). ``dest_process``: the destination's
    sandbox in a process of its own (``sandbox.process``), as a real service is a server apart:
    its answers then take none of this process's CPU or turns (the estimate's calibration).

    The credentials' variables are exported to ``os.environ`` (the connectors read secrets
    from there); use the pair as a context manager (``with start_pair(...) as pair:``) to stop
    the sandboxes and restore those variables on the way out."""
    if fresh and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # the source's practice: a PracticeHub account's zone may be set apart (region sydney)
    zone = account_zone(source_extra or {}) if source == "practicehub" else None
    practice = Practice(seed=seed, patients=patients, timezone=zone)
    src_scale = source_time_scale or time_scale  # the source's own, when given
    users = [*practice.crm_user_emails(), FALLBACK_OWNER]
    servers: list[Any] = []
    if source == "clinic_csv":  # a file source: a generated export folder, no server
        export = directory / "clinic-export"
        write_clinic_export(export, practice)
        src_info: dict[str, Any] = {"kind": source, "base_url": str(export), "credentials": {},
                                    "timezone": practice.timezone}  # its times' zone
    elif source == "pulse" and surface == "documented":
        # Pulse publishes no API (specs/sources/NOTES.md §3): the documented way out is the
        # practice's CSV export folder; the REST sandbox is an assumption (extended surface)
        export = directory / "pulse-export"
        write_export(export, practice)
        src_info = {"kind": source, "mode": "export", "base_url": str(export), "credentials": {},
                    "timezone": practice.timezone}
    else:
        src_run, src_info = serve(source, SandboxOptions(seed=seed, patients=patients,
                                                         time_scale=src_scale,
                                                         faults=source_faults, surface=surface,
                                                         extra=sandbox_extra(
                                                             source, src_scale, source_extra)))
        servers.append(src_run)
    try:
        dst_opts = SandboxOptions(seed=seed, time_scale=time_scale, faults=dest_faults,
                                  users=users, surface=surface, extra=dest_extra or {})
        if dest_process:
            from ferry.sandbox.process import serve_process

            dst_run, dst_info = serve_process(destination, dst_opts)
        else:
            dst_run, dst_info = serve(destination, dst_opts)
    except BaseException:
        for s in servers:  # do not leave the source's server running
            s.stop()
        raise
    src_settings, src_env = profile(source, src_info, time_scale=src_scale,
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
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = Settings(project=directory.name,
                        source=ConnectorSettings(**src_settings),
                        destination=ConnectorSettings(**dst_settings),
                        options=Options(fallback_owner_email=FALLBACK_OWNER, **opts),
                        store=store)
    save_settings(settings, directory / "ferry.yaml")
    return Pair(Project.at(directory), src_info, dst_info, practice, env, [*servers, dst_run],
                before, getattr(servers[0], "sandbox", None) if servers else None)
