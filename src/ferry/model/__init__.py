"""The canonical practice model and the staging store (the innermost layer)."""

from ferry.model.audit import AuditEntry, AuditLog
from ferry.model.entities import ENTITIES, CustomValue, Record, entity, parse_record
from ferry.model.fields import FieldInfo, Kind, PhiClass, field_info, fields_of
from ferry.model.refs import RecordRef
from ferry.model.staging import StagedRecord, StagingStore, content_hash

__all__ = [
    "ENTITIES", "AuditEntry", "AuditLog", "CustomValue", "FieldInfo", "Kind", "PhiClass",
    "Record", "RecordRef", "StagedRecord", "StagingStore", "content_hash", "entity",
    "field_info", "fields_of", "parse_record",
]
