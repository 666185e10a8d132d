"""The seam between the engine and the systems it talks to."""

from ferry.connectors.base import (
    Budget,
    Capabilities,
    CheckItem,
    Cost,
    Destination,
    DestUser,
    FieldSpec,
    FileInfo,
    ObjectInfo,
    Page,
    Provisioned,
    RateInfo,
    SchemaItem,
    Source,
    WriteResult,
)

__all__ = [
    "Budget", "Capabilities", "CheckItem", "Cost", "DestUser", "Destination", "FieldSpec",
    "FileInfo", "ObjectInfo", "Page", "Provisioned", "RateInfo", "SchemaItem", "Source",
    "WriteResult",
]
