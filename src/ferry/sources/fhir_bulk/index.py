"""A side index (SQLite, in the work folder) of facts that FHIR keeps apart from the Patient.

Allergies, conditions, the blood-group Observation and non-patient contacts are resources of
their own in FHIR but fields of the canonical patient (seed 003: ``allergy_notes``,
``blood_group`` on the partner). Joining them in memory would grow with the export, so one pass
writes ``(patient, kind, text)`` rows to SQLite and each page of patients looks its facts up by
id. The index is rebuilt only when the export files change (name, size, mtime signature).
PractitionerRoles (a handful per practitioner) are indexed the same way, by practitioner.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ferry.errors import FerryError
from ferry.sources.clinic_csv.rows import RowError
from ferry.sources.fhir_bulk import fhirvals as F
from ferry.sources.fhir_bulk.ndjson import Line, read_lines
from ferry.sources.fhir_bulk.resources import (
    BLOOD_GROUP_CODES,
    RELATED_PATIENT_EXT,
    practitioner_role,
)

INDEXED = ("AllergyIntolerance", "Condition", "Observation", "RelatedPerson", "PractitionerRole")


class FactIndex:
    def __init__(self, db: Path) -> None:
        db.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(db)
        self.conn.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"  # a cache: rebuilt if lost
            "CREATE TABLE IF NOT EXISTS facts (owner TEXT, kind TEXT, seq INTEGER, body TEXT);"
            "CREATE INDEX IF NOT EXISTS facts_owner ON facts(owner);"
            "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);")
        self.errors: list[FerryError] = []

    def close(self) -> None:
        self.conn.close()

    def build(self, files: list[tuple[str, Path]], signature: str, *, system: str,
              known: frozenset[str]) -> list[FerryError]:
        """Index ``(type, path)`` files unless the same signature was indexed already."""
        row = self.conn.execute("SELECT v FROM kv WHERE k='sig'").fetchone()
        if row and row[0] == signature:
            return []
        errors: list[FerryError] = []
        with self.conn:
            self.conn.execute("DELETE FROM facts")
            seq = 0
            for rtype, path in files:
                if rtype not in INDEXED:
                    continue
                for item in self._lines(rtype, path, system, known):
                    if not isinstance(item, Line):
                        if rtype != "Observation" and rtype != "RelatedPerson":
                            errors.append(item)  # those two report on their own reads
                        continue
                    try:
                        found = facts(rtype, item.resource)
                    except (TypeError, AttributeError, KeyError, ValueError) as exc:
                        del exc  # odd shapes: reported, never quoted
                        errors.append(RowError(system, "patient", path.name, item.line, None,
                                               None, "resource shape is not valid R4"))
                        continue
                    for owner, kind, body in found:
                        seq += 1
                        self.conn.execute("INSERT INTO facts VALUES (?,?,?,?)",
                                          (owner, kind, seq, json.dumps(body)))
            self.conn.execute("INSERT OR REPLACE INTO kv VALUES ('sig', ?)", (signature,))
        return errors

    @staticmethod
    def _lines(rtype: str, path: Path, system: str, known: frozenset[str]
               ) -> Iterator[Any]:
        if rtype != "Observation":
            yield from read_lines(path, system=system, object_name="patient", expect=rtype,
                                  known=known)
            return
        # Observations can be most of an export; only blood-group lines are parsed here.
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                if any(c.encode() in raw for c in BLOOD_GROUP_CODES):
                    try:
                        yield Line(json.loads(raw), n, 0)
                    except ValueError:
                        continue

    def lookup(self, owners: list[str]) -> dict[str, list[tuple[str, Any]]]:
        out: dict[str, list[tuple[str, Any]]] = {}
        for i in range(0, len(owners), 500):
            chunk = owners[i:i + 500]
            q = ",".join("?" * len(chunk))
            for owner, kind, body in self.conn.execute(
                    f"SELECT owner, kind, body FROM facts WHERE owner IN ({q}) ORDER BY seq",  # noqa: S608
                    chunk):
                out.setdefault(owner, []).append((kind, json.loads(body)))
        return out


def facts(rtype: str, r: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """``(owner id, kind, value)`` facts one resource contributes."""
    if rtype == "AllergyIntolerance":
        owner = F.ref(r.get("patient"))
        what = F.text(r.get("code"))
        reactions = [F.text(F.first(x.get("manifestation"))) for x in r.get("reaction") or []
                     if isinstance(x, dict)]
        reactions = [x for x in reactions if x]
        if owner and what:
            return [(owner, "allergy", what + (f" ({', '.join(reactions)})" if reactions
                                               else ""))]
    elif rtype == "Condition":
        owner, what = F.ref(r.get("subject")), F.text(r.get("code"))
        if owner and what:
            return [(owner, "condition", what)]
    elif rtype == "Observation":
        owner = F.ref(r.get("subject"))
        value = F.text(r.get("valueCodeableConcept")) or r.get("valueString")
        if owner and value and F.has_code(r.get("code"), *BLOOD_GROUP_CODES):
            return [(owner, "blood_group", str(value))]
    elif rtype == "RelatedPerson":
        if any(isinstance(e, dict) and e.get("url") == RELATED_PATIENT_EXT
               for e in r.get("extension") or []):
            return []
        owner = F.ref(r.get("patient"))
        nm = F.name(r.get("name"))
        contact = {"name": " ".join(x for x in (nm.get("first_name"), nm.get("last_name")) if x)
                   or None, "phone": (F.telecom(r.get("telecom")) or {}).get("mobile")
                   or (F.telecom(r.get("telecom")) or {}).get("phone"),
                   "relationship": F.text(F.first(r.get("relationship")))}
        if owner:
            return [(owner, "contact", contact)]
    elif rtype == "PractitionerRole":
        owner = F.ref(r.get("practitioner"))
        if owner:
            return [(owner, "role", practitioner_role(r))]
    return []


def enrich_patient(data: dict[str, Any], found: list[tuple[str, Any]]) -> None:
    allergies = [b for k, b in found if k == "allergy"]
    conditions = [b for k, b in found if k == "condition"]
    if allergies and not data.get("allergies"):
        data["allergies"] = "; ".join(allergies)
    if conditions and not data.get("medical_history"):
        data["medical_history"] = "; ".join(conditions)
    for kind, body in found:
        if kind == "blood_group":
            data.setdefault("blood_group", body)
        elif kind == "contact" and "emergency_contact" not in data:
            data["emergency_contact"] = {k: v for k, v in body.items() if v}


def enrich_practitioner(data: dict[str, Any], found: list[tuple[str, Any]]) -> None:
    for kind, body in found:
        if kind == "role":
            for k, v in body.items():
                data.setdefault(k, v)
