"""Which staging backend a project uses: the embedded SQLite file (default) or PostgreSQL.

``ferry.yaml`` may name ``store: postgresql://user@host:port/db``; the password comes from the
environment variable ``store_password_env`` names, never from the file. Each project is one
schema of that database, named from the project.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from ferry.model.staging import PayloadCodec, StagingStore


def is_server_url(location: str | Path | None) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def check_url(url: str) -> None:
    """A store URL must not carry a password: ferry.yaml is not a place for secrets."""
    if urlsplit(url).password:
        raise ValueError("store URL: remove the password; name its environment variable in"
                         " store_password_env instead")


def schema_for(project: str) -> str:
    """A project's schema name: ``ferry_`` + its name folded to [a-z0-9_] (≤ 63 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "_", project.lower()).strip("_") or "project"
    return ("ferry_" + slug)[:63]


def open_store(location: str | Path, *, codec: PayloadCodec | None = None,
               schema: str | None = None, password: str | None = None) -> StagingStore:
    """The staging store at ``location``: a PostgreSQL URL (with ``schema``) or a file path."""
    if is_server_url(location):
        from ferry.model.pgstore import PgStagingStore

        url = str(location)
        check_url(url)
        if not schema:
            raise ValueError("a PostgreSQL store needs a schema (one per project)")
        return PgStagingStore(url, schema, codec, password=password)
    return StagingStore(Path(location), codec=codec)
