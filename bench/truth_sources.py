"""The clinic's changes during a cutover, made the way each source system really shows them
(``bench/truth.py`` runs a scenario for every source with these).

The plan and how each system shows it live in ``ferry.sandbox.cutover`` (``ferry demo --delta``
makes the same changes); this module names truth.py's sources and passes the rest through.
"""

from __future__ import annotations

from ferry.sandbox.cutover import (
    WITH_DOCUMENTS,
    Changed,
    Plan,
    apply,
    full_export,
    plan,
    source_name,
    stages,
    to_folder,
)

#: truth.py's source name → (start_pair's source, the surface it is served on by default)
SOURCES = {"practicehub": ("practicehub", "extended"), "pulse": ("pulse", "extended"),
           "pulse_export": ("pulse", "documented"), "clinic_csv": ("clinic_csv", "documented"),
           "fhir": ("fhir", "documented"), "fhir_folder": ("fhir", "documented")}

__all__ = ["SOURCES", "WITH_DOCUMENTS", "Changed", "Plan", "apply", "full_export", "plan",
           "source_name", "stages", "to_folder"]
