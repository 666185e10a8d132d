"""Pipedrive emulator (``ferry sandbox serve pipedrive``); see ``app`` for the layers and knobs."""

from __future__ import annotations

from typing import Any


def build(options: Any) -> Any:
    from ferry.sandbox.pipedrive.app import build as _build

    return _build(options)
