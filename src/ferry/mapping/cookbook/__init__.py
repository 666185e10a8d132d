"""The recipe generator: ``build(source, destination, variant)`` → MappingDoc, and
``python -m ferry.mapping.cookbook`` rewrites ``ferry/mapping/recipes/*.yaml``."""

from __future__ import annotations

from ferry.mapping.cookbook.common import DESTINATIONS, SEED, SOURCES, uncovered
from ferry.mapping.model import MappingDoc

VARIANTS: dict[str, tuple[str, ...]] = {"odoo": ("no_accounting",)}


def build(source: str, destination: str, variant: str | None = None) -> MappingDoc:
    from ferry.mapping.cookbook import odoo, pipedrive, salesforce

    if destination == "pipedrive":
        return pipedrive.build(source).doc()
    if destination == "salesforce":
        return salesforce.build(source).doc()
    if destination == "odoo":
        return odoo.build(source, variant).doc()
    raise KeyError(destination)


__all__ = ["DESTINATIONS", "SEED", "SOURCES", "VARIANTS", "build", "uncovered"]
