"""A migration project folder and where everything in it lives.

```
<project>/
  ferry.yaml            settings (no secrets)
  mapping.yaml          the proposed / confirmed field map
  .ferry/staging.db     staging store: records, checkpoints, runs, id map, audit log, skips
  .ferry/files/         downloaded source files (content-addressed)
  .ferry/parsed/        what ferry.yaml and mapping.yaml read to, with their texts' sha256
                        (``model/yaml12.py``: the next verb skips the YAML parser)
  reports/<verb>/       HTML + JSON reports per verb and run
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ferry.errors import ConfigError, FerryError
from ferry.model.audit import AuditLog
from ferry.model.staging import StagingStore
from ferry.settings import SHARED_KEY_ENV, Settings, load_settings

if TYPE_CHECKING:
    from ferry.mapping.compile import CompiledMap
    from ferry.mapping.model import MappingDoc
    from ferry.mapping.transforms import Lengths

#: the store's ``kv`` entry holding its key's check value (``crypto.key_check``)
KEY_CHECK = "key_check"


@dataclass
class Project:
    root: Path
    _store: StagingStore | None = field(default=None, repr=False)

    @classmethod
    def at(cls, root: Path | str) -> Project:
        return cls(Path(root).resolve())

    @property
    def settings_path(self) -> Path:
        return self.root / "ferry.yaml"

    @property
    def mapping_path(self) -> Path:
        return self.root / "mapping.yaml"

    @property
    def state_dir(self) -> Path:
        return self.root / ".ferry"

    @property
    def files_dir(self) -> Path:
        d = self.state_dir / "files"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def reports_dir(self, verb: str) -> Path:
        d = self.root / "reports" / verb
        d.mkdir(parents=True, exist_ok=True)
        return d

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.settings_path)

    @property
    def store(self) -> StagingStore:
        if self._store is None:
            store = self._open_store()
            self._check_key(store)
            self._store = store
            from ferry.model.crypto import private_tmp_dir

            private_tmp_dir(self.state_dir)  # plain copies a killed run left behind go now
        return self._store

    def _open_store(self) -> StagingStore:
        """The embedded SQLite file, or the PostgreSQL schema ferry.yaml's ``store`` names."""
        url = self.settings.store if self.settings_path.exists() else None
        if not url:
            return StagingStore(self.state_dir / "staging.db", codec=self._codec())
        import os

        from ferry.model.stores import open_store, schema_for

        try:
            return open_store(url, codec=self._codec(), schema=schema_for(self.settings.project),
                              password=os.environ.get(self.settings.store_password_env))
        except ValueError as exc:
            raise ConfigError(f"ferry.yaml store: {exc}") from None

    @cached_property
    def phone_region(self) -> str | None:
        """The practice's country for phone numbers: ``options.phone_region``, else the one the
        audit detects from the staged clinics (``None``: only ``+`` numbers are readable)."""
        if self.settings_path.exists() and self.settings.options.phone_region:
            return self.settings.options.phone_region
        from ferry.mapping.phones import practice_region

        return practice_region(self.store)

    @property
    def infers_countries(self) -> bool:
        """A record with no address country may have one read from its state and postcode
        (``ferry.model.postal``): not when ``options.phone_region`` is set, the user's word."""
        return not (self.settings_path.exists() and self.settings.options.phone_region)

    @cached_property
    def clinic_countries(self) -> dict[str, str]:
        """Each clinic's country, the plan of phones whose record names no country; for a
        clinic with no staged address, its patients' (read only when a practitioner's clinic
        is left unknown by the clinic records)."""
        from ferry.mapping.phones import staged_clinic_countries

        return staged_clinic_countries(self.store, infer=self.infers_countries)

    @cached_property
    def appointment_lengths(self) -> Lengths:
        """What an appointment with no end and no length is assumed to last where the
        destination refuses one without: its staged type's length (by id, else by name), else
        ``options.default_appointment_minutes``."""
        from ferry.mapping.transforms import Lengths

        by_type: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for rec in self.store.iter_records("appointment_type"):
            minutes = getattr(rec, "duration_minutes", None)
            if not minutes or minutes <= 0:
                continue
            by_type[rec.source_id] = int(minutes)
            name = str(getattr(rec, "name", "") or "").strip().casefold()
            if name:  # a name two types share with different lengths names neither
                by_name[name] = int(minutes) if by_name.get(name, minutes) == minutes else -1
        default = self.settings.options.default_appointment_minutes \
            if self.settings_path.exists() else None
        return Lengths(by_type, {n: m for n, m in by_name.items() if m > 0}, default)

    @cached_property
    def scan_regions(self) -> tuple[str, ...]:
        """The regions the PHI scan reads phone numbers in: its eleven defaults, then this
        practice's country (``phone_region``: configured, else detected) and its clinics'."""
        from ferry.phi.detect import regions_for

        return regions_for(self.phone_region, *self.clinic_countries.values())

    def compile(self, doc: MappingDoc, *, need_keys: bool = True) -> list[CompiledMap]:
        """``doc``'s maps compiled with this practice's numbering plans and assumed lengths."""
        from ferry.mapping.compile import compile_mapping

        return compile_mapping(doc, need_keys=need_keys, region=self.phone_region,
                               clinics=self.clinic_countries, lengths=self.appointment_lengths,
                               infer_country=self.infers_countries)

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log, its chain keyed (HMAC) with a subkey of the project's key when the
        project encrypts at rest; a plain SHA-256 chain otherwise."""
        from ferry.model.crypto import derive_key

        key = self._master_key
        return AuditLog(self.store, key=None if key is None else derive_key(key, "audit-chain"))

    @cached_property
    def _master_key(self) -> bytes | None:
        """The project's key (environment or keyring, never the folder), when it encrypts."""
        return None if self._key_source is None else self._key_source[0]

    @cached_property
    def _key_source(self) -> tuple[bytes, str, str] | None:
        """The key, the variable it came from and where (``environment`` or ``keyring``)."""
        if not self.settings_path.exists():  # a bare store (tests, status of a folder)
            return None
        options = self.settings.options
        if not options.encrypt_at_rest:
            return None
        from ferry.connectors.secrets import secret_from
        from ferry.model.crypto import parse_key

        name = options.encryption_key_env
        text, origin = secret_from(name)
        return parse_key(text, f"{name} (from the {origin})"), name, origin

    def _check_key(self, store: StagingStore) -> None:
        """Refuse a key this project's store was not encrypted with, naming the variable (never
        the key). The store keeps the key's check value (``key_check``); a store from before
        that is checked on one of its staged values, and then keeps the check value."""
        if self._key_source is None:
            return
        from ferry.model.crypto import MAGIC, key_check

        key, name, origin = self._key_source
        check = key_check(key)
        kept = store.get_value(KEY_CHECK)
        if kept is None:
            row = store.conn.execute("SELECT payload FROM records LIMIT 1").fetchone()
            sample = b"" if row is None else bytes(row[0])
            try:
                if sample.startswith(MAGIC):  # (a plain value says nothing of the key)
                    store.codec.decode(sample)
            except FerryError:
                kept = ""  # another key wrote this store's values
            else:
                store.set_value(KEY_CHECK, check)
                return
        if kept != check:
            shared = (f". Projects made before Ferry named a variable per project all read"
                      f" {name}: once it holds this one's key, give the project its own"
                      " variable (options.encryption_key_env in ferry.yaml)"
                      if name == SHARED_KEY_ENV else "")
            raise ConfigError(
                f"the key in {name} (from the {origin}) does not open this project's staged"
                f" data: it was encrypted with another key. Set {name} to the key `ferry init`"
                f" printed for this project{shared}")

    def _codec(self):  # type: ignore[no-untyped-def]
        """AES-GCM when the project encrypts at rest (key from the environment or keyring)."""
        if self._master_key is None:
            return None
        from ferry.model.crypto import AesGcmCodec

        return AesGcmCodec(self._master_key)
