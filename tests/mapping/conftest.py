"""Shared fixtures of the mapper's tests."""

from __future__ import annotations

import pytest

from ferry.mapping import embed


@pytest.fixture
def no_embedding(monkeypatch):  # type: ignore[no-untyped-def]
    """Names and profiles only, so results do not depend on what is installed."""
    monkeypatch.setenv("FERRY_EMBED", "0")
    embed.load_embedder.cache_clear()
    yield
    embed.load_embedder.cache_clear()
