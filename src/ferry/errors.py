"""Ferry's error tree. Every error carries record references, never record values.

    FerryError
    ├── ConfigError            bad ferry.yaml, missing env var, unknown connector
    ├── MappingError           mapping.yaml invalid or unconfirmed
    ├── IntegrityError         audit hash chain broken, staging store inconsistent
    └── ConnectorError         anything a source or destination reports
        ├── RetriableError     (marker) worth retrying with backoff: 429, 5xx, network
        │   └── RateLimited    carries retry_after seconds
        ├── FatalError         (marker) stop the run, leave it resumable: auth, budget spent
        │   └── BudgetExhausted
        └── RecordError        (skippable) one record is bad: goes to the skip file, run goes on

Behaviour is chosen by class, never by parsing messages (the taxonomy of Singer SDK and dlt).
Messages name a RecordRef and a field path; they must never embed a field's value, since values
may be PHI.
"""

from __future__ import annotations

from typing import Any


class FerryError(Exception):
    """Root of every error Ferry raises on purpose."""


class ConfigError(FerryError):
    """The project's configuration cannot be used as it stands."""


class MappingError(FerryError):
    """The mapping file is invalid, unconfirmed, or changed since it was confirmed."""


class IntegrityError(FerryError):
    """Stored state (audit chain, id map, staging) is not what it must be."""


class ConnectorError(FerryError):
    """An external system refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None, system: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.system = system


class RetriableError(ConnectorError):
    """Transient: retry with backoff (429, 5xx, dropped connection, lock contention)."""


class RateLimited(RetriableError):
    """The system asked us to slow down; ``retry_after`` is its hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    """Stop the run cleanly; it can be resumed once the cause is fixed."""


class BudgetExhausted(FatalError):
    """A daily API budget is spent; resume after ``resets_at`` (epoch seconds) if known."""

    def __init__(self, message: str, *, resets_at: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.resets_at = resets_at


class RecordError(ConnectorError):
    """One record cannot be read or written; it is skipped with this reason and the run goes on.

    ``ref`` is the record's reference (``system:object:id``) and ``field`` the offending field
    path. ``reason`` says what is wrong in words that never quote the value.
    """

    def __init__(self, ref: str, field: str | None, reason: str, **kw: Any) -> None:
        where = f"{ref} field {field!r}" if field else ref
        super().__init__(f"{where}: {reason}", **kw)
        self.ref = ref
        self.field = field
        self.reason = reason
