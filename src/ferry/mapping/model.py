"""The shape of ``mapping.yaml``: what the proposer writes, the user edits and confirms, and the
engine executes. This module only declares the schema; ``mapping_file.py`` reads and writes it
(round-trip with comments), ``compile.py`` turns it into payload builders.

One ``ObjectMap`` says how records of one canonical source object land in one destination
object. ``mode`` says how:

* ``record``  one destination record per source record (patient → person)
* ``fold``    values folded into the parent's destination record as fields
              (insurance → custom fields on the person; ``fold.strategy`` picks latest/join/list)
* ``attach``  a file on the parent's record: a Document's content, or the record rendered as text
              (prescription → ir.attachment)
* ``users``   matched to existing destination users by email, never written (practitioner → user)
* ``none``    not migrated; exported to the rebuild guide (workflows, automations)

Several ObjectMaps may share a source object with disjoint ``when`` conditions (appointments →
Tasks or Events by appointment type). A record no map accepts is *excluded by a confirmed rule* and
is counted as such, never silently dropped.
"""

# No ``from __future__ import annotations`` here: pydantic would evaluate each field's
# annotation from its text at class creation (a compile and an eval per field, in every
# verb's process); written as objects they are taken as they are. Same schemas.

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ferry.model.fields import Kind, PhiClass

Mode = Literal["record", "fold", "attach", "users", "none"]


class CustomField(BaseModel):
    """A destination field Ferry must create in ``prepare`` (its key is known only after)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str  # logical, stable name, e.g. "mrn", "ferry_source_id"
    label: str
    kind: Kind
    options: list[str] = Field(default_factory=list)  # enum/set labels
    key: str | None = None  # physical key, filled in by ``prepare`` (Pipedrive hash, X__c, x_…)
    external_id: bool = False
    ref: str | None = None  # lookup fields (custom objects): the destination object referenced


class Transform(BaseModel):
    """A named, declarative transform with its arguments (no eval of user strings)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str  # e.g. "phone_e164", "truncate", "template", "ref", "owner", "date", "join"
    args: dict[str, Any] = Field(default_factory=dict)


class FieldMap(BaseModel):
    """One source field (or several, for joins/templates) → one destination field."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    source: str | list[str] | None = None  # canonical field, "custom.<key>", or None for a constant
    target: str  # destination field name, or "custom:<name>" for a field in ``custom_fields``
    transform: list[Transform] = Field(default_factory=list)
    value_map: dict[str, Any] | None = None  # source value → destination value (labels)
    value_map_default: Any = None  # for values missing from the map ("keep" keeps the source value)
    default: Any = None  # constant when the source is empty (Industry = "Healthcare")
    required: bool = False
    phi: PhiClass | None = None  # user override of the field's PHI class
    confidence: float = 1.0
    reason: str = ""
    samples: list[str] = Field(default_factory=list)
    status: Literal["mapped", "review", "ignored"] = "mapped"
    # a value no rule accepts (a phone number no numbering plan knows) is never written; "flag"
    # keeps it an unexplained difference in the sample until the source is fixed, "leave_out"
    # records the reviewer's decision to migrate without it (listed in the audit and skip file)
    on_invalid: Literal["flag", "leave_out"] = "flag"

    @property
    def writes(self) -> bool:
        """Whether the load writes this field: confirmed ("mapped") to a real target; one
        left for review or ignored is never written (``compile``)."""
        return self.status == "mapped" and self.target not in ("-", "")


class Condition(BaseModel):
    """``when``: a record-level filter on one source field (``in`` / ``not_in`` / ``empty``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    field: str
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    empty: bool | None = None


class Parent(BaseModel):
    """For fold/attach (and notes): the parent record a child lands on."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    object: str  # canonical parent object, e.g. "patient"
    via: str  # the child's reference field, e.g. "patient_id"
    map: str | None = None  # which ObjectMap of the parent (by name) when it has several


class Fold(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    # "sum" (added by the mapping helper): numbers summed (outstanding balance over invoices)
    strategy: Literal["latest", "join", "list", "first", "sum"] = "latest"
    separator: str = "\n"
    order_by: str = "updated_at"


class Attach(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    content: Literal["file", "render"] = "file"  # a Document's bytes, or the record as text
    file_name: str = "{file_name}"  # template over the record's fields
    template: str | None = None  # for render: a template over the record's fields


class ObjectMap(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    name: str  # unique within the file, e.g. "appointment_as_deal"
    source: str  # canonical object
    target: str  # destination object ("person", "Contact", "res.partner" …)
    mode: Mode = "record"
    when: Condition | None = None
    parent: Parent | None = None
    id_field: str | None = None  # destination field holding the source id ("custom:ferry_source_id")
    fields: list[FieldMap] = Field(default_factory=list)
    fold: Fold | None = None
    attach: Attach | None = None
    custom_object: bool = False  # the target object itself must be created (Salesforce __c)
    #: what ``ferry delta`` does when a source record of this map is deleted:
    #: ``delete_dependants`` (the record and the records that cannot exist without it: a
    #: reference their map writes that the canonical model or the map requires, or hung on it:
    #: folds, files; one whose optional link to it its map writes, a paid invoice of a deleted
    #: visit, is kept with that link emptied, as a fresh run keeps it; one whose map does not
    #: write the reference is kept untouched), ``unlink`` (the record; dependants stay with their reference emptied),
    #: ``keep_and_flag`` (nothing is deleted; the delta report flags it). Unset: the project's
    #: ``options.delete_policy`` decides (``delete`` → delete_dependants, ``flag`` →
    #: keep_and_flag, ``ignore`` → nothing, not even a flag).
    on_delete: Literal["delete_dependants", "unlink", "keep_and_flag"] | None = None
    note: str = ""  # why this map exists (quoted from the recipe)

    def delete_policy(self, default_option: str) -> str:
        """``on_delete``, else what ``options.delete_policy`` (``default_option``) means for a
        map that sets none (``ignore``: nothing at all)."""
        return self.on_delete or {"delete": "delete_dependants", "flag": "keep_and_flag",
                                  "ignore": "ignore"}.get(default_option, "delete_dependants")


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str
    key: str | None = None


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str
    stages: list[Stage]
    key: str | None = None


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    hash: str
    by: str
    at: str
    #: file sources: {object: digest} of the export's column placement the staged records
    #: were read under when the map was confirmed (``ferry.engine.placement``)
    placement: dict[str, str] | None = None


class MappingDoc(BaseModel):
    """The whole of mapping.yaml."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    version: int = 1
    source: str
    destination: str
    recipe: str | None = None  # which recipe it started from
    objects: list[ObjectMap]
    custom_fields: dict[str, list[CustomField]] = Field(default_factory=dict)  # by dest object
    pipelines: list[Pipeline] = Field(default_factory=list)
    activity_types: list[str] = Field(default_factory=list)
    confirmed: Confirmation | None = None

    def object_map(self, name: str) -> ObjectMap:
        for om in self.objects:
            if om.name == name:
                return om
        raise KeyError(name)

    def folds_onto(self, om: ObjectMap) -> list[ObjectMap]:
        """The fold maps that write on record map ``om``'s records (its object, its target, and
        ``parent.map`` unset or naming it)."""
        return [f for f in self.objects if f.mode == "fold" and f.parent is not None
                and f.parent.object == om.source and f.target == om.target
                and f.parent.map in (None, om.name)]

    def custom_field(self, dest_object: str, name: str) -> CustomField | None:
        return next((c for c in self.custom_fields.get(dest_object, []) if c.name == name), None)
