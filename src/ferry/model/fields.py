"""Field metadata shared by audit, mapping, PHI handling and reports.

A model field declares its PHI class and value kind once, here, through ``meta(...)``; every later
stage reads it with ``field_info(Model, name)`` instead of keeping its own list.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PhiClass(StrEnum):
    """How sensitive a field is; drives masking, the BAA gate and the review queue."""

    NONE = "none"
    IDENTIFIER = "identifier"  # MRN, national id, patient number
    DEMOGRAPHIC = "demographic"  # name, DOB, sex
    CONTACT = "contact"  # email, phone, address
    CLINICAL = "clinical"  # diagnoses, notes, allergies, medications
    FINANCIAL = "financial"  # invoices, balances, policy numbers


class Kind(StrEnum):
    """The value kind of a field, as the mapper and destinations understand it."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    INT = "int"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    PHONE = "phone"
    ENUM = "enum"
    SET = "set"
    JSON = "json"
    REF = "ref"  # a source id of another object
    ADDRESS = "address"


def meta(
    kind: Kind,
    *,
    phi: PhiClass = PhiClass.NONE,
    ref: str | None = None,
    label: str | None = None,
    options: list[str] | None = None,
    default: Any = None,
) -> Any:
    """A pydantic Field carrying Ferry's metadata in ``json_schema_extra``."""
    extra: dict[str, Any] = {"kind": kind.value, "phi": phi.value}
    if ref:
        extra["ref"] = ref
    if label:
        extra["label"] = label
    if options:
        extra["options"] = options
    return Field(default=default, json_schema_extra=extra)


class FieldInfo(BaseModel):
    """What Ferry knows about one field of one object."""

    model_config = ConfigDict(defer_build=True)  # built when first used, not at every import
    name: str
    kind: Kind
    phi: PhiClass
    label: str
    ref: str | None = None
    options: list[str] | None = None
    required: bool = False


def field_info(model: type[BaseModel], name: str) -> FieldInfo:
    """Metadata of ``model.name``; fields without ``meta`` are plain text, not PHI."""
    f = model.model_fields[name]
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    return FieldInfo(
        name=name,
        kind=Kind(str(extra.get("kind", Kind.TEXT))),
        phi=PhiClass(str(extra.get("phi", PhiClass.NONE))),
        label=str(extra.get("label") or name.replace("_", " ").capitalize()),
        ref=extra.get("ref") and str(extra["ref"]),
        options=extra.get("options") if isinstance(extra.get("options"), list) else None,  # type: ignore[arg-type]
        required=f.is_required(),
    )


def fields_of(model: type[BaseModel]) -> list[FieldInfo]:
    """Every field of ``model`` except the custom-field bag, in declaration order."""
    return [field_info(model, n) for n in model.model_fields if n != "custom"]
