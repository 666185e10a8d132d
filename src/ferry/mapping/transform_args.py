"""The arguments each transform takes, as pydantic models checked at ``ferry map --confirm``.

A transform reads its arguments with defaults, so a misspelt key (``regoin: AU``) or a value it
cannot use (``region: Australia``) would otherwise pass confirmation and quietly fall back to
the default, or empty the field, in every record. ``check_args`` returns every problem of one
transform at once, each naming the argument and, for a closed set, the allowed values.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ferry.mapping.phones import REGIONS


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoArgs(_Args):
    pass


class ValueArg(_Args):
    value: Any = None


class SepArg(_Args):
    sep: str = " "


class _Tz(_Args):
    tz: str = "UTC"

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Australia" is a directory
            raise ValueError("not an IANA time zone (e.g. Europe/London, Australia/Sydney)"
                             ) from None
        return v


class TimeArgs(_Tz):
    fmt: str = "%H:%M"


class StrftimeArgs(_Tz):
    fmt: str


class RefArgs(_Args):
    object: str = Field(min_length=1)
    dest_object: str | None = None


class PipelineBy(_Args):
    field: str = Field(min_length=1)
    map: dict[str, Any] = Field(default_factory=dict)
    default: Any = None


class PipelineArgs(_Args):
    pipeline: str | None = None
    pipeline_by: PipelineBy | None = None


class TemplateArgs(_Args):
    template: str


class FormatArgs(_Args):
    fmt: str


class TruncateArgs(_Args):
    max: int = Field(ge=1)
    suffix: str = ""


class LabelledArgs(_Args):
    labels: list[str]


class RecordJsonArgs(_Args):
    fields: list[str] = Field(min_length=1)


class SplitNameArgs(_Args):
    part: Literal["first", "last"]


class AddressArgs(_Args):
    part: Literal["street", "street2", "street_lines", "city", "region", "postcode", "country"]


class PhoneArgs(_Args):
    # pins the practice's country for this field; the record's address country still comes first
    region: str | None = None

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and v.upper() not in REGIONS:
            raise ValueError("not a two-letter country code with a numbering plan (AU, GB, US,"
                             " NZ, IE, CA, NL, ES, … ISO 3166-1 alpha-2)")
        return v


class MinutesArgs(_Args):
    # no end and no length: the appointment type's default, else options.default_appointment_minutes
    assume: bool = False


class MoneyArgs(_Args):
    as_: Literal["float", "decimal", "int"] = Field("float", alias="as")


SCHEMAS: dict[str, type[_Args]] = {
    "constant": ValueArg, "default": ValueArg, "map": NoArgs, "ref": RefArgs, "owner": NoArgs,
    "pipeline": PipelineArgs, "stage": PipelineArgs, "template": TemplateArgs,
    "text": NoArgs, "strip": NoArgs, "lower": NoArgs, "upper": NoArgs, "truncate": TruncateArgs,
    "join": SepArg, "list_text": SepArg, "coalesce": NoArgs, "html": NoArgs, "json_text": NoArgs,
    "json": NoArgs, "labelled": LabelledArgs, "record_json": RecordJsonArgs, "format": FormatArgs,
    "split_name": SplitNameArgs, "join_name": NoArgs, "address": AddressArgs,
    "address_line": NoArgs, "phone_e164": PhoneArgs, "email": NoArgs, "date": _Tz,
    "datetime": _Tz, "time": TimeArgs, "strftime": StrftimeArgs, "minutes_between": MinutesArgs,
    "hhmm": NoArgs, "money": MoneyArgs, "int": NoArgs, "bool": NoArgs,
}


def check_args(name: str, args: dict[str, Any]) -> list[str]:
    """Every problem of ``args`` for transform ``name`` (empty: fine or no schema known)."""
    model = SCHEMAS.get(name)
    if model is None:
        return []
    try:
        model.model_validate(args)
    except ValidationError as exc:
        known = sorted(f.alias or n for n, f in model.model_fields.items())
        out = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
            if err["type"] == "extra_forbidden":
                out.append(f"unknown argument {loc!r}; {name} takes "
                           + (", ".join(known) if known else "no arguments"))
            elif err["type"] == "missing":
                out.append(f"argument {loc!r} is required")
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "literal_error":
                    msg = msg.replace("Input should be", "allowed:")
                out.append(f"argument {loc!r}: {msg}")
        return out
    return []
