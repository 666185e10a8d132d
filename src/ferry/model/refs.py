"""RecordRef: the only way a log line or error may name a record."""

from __future__ import annotations

from typing import NamedTuple


class RecordRef(NamedTuple):
    system: str
    object: str
    id: str

    def __str__(self) -> str:
        return f"{self.system}:{self.object}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> RecordRef:
        system, obj, rid = text.split(":", 2)
        return cls(system, obj, rid)
