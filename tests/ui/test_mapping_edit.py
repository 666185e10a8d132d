"""Edits from the mapping page go through the ruamel round-trip: comments survive, only the
edited node changes, a bad edit leaves the file as it was, and an edit after confirmation
unconfirms the map (the same hash ``ferry map --confirm`` stamps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.errors import MappingError
from ferry.mapping.draft import draft_mapping
from ferry.mapping.mapping_file import content_hash, load, save
from ferry.ui import mapping_edit


@pytest.fixture(scope="module")
def draft(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("draft") / "mapping.yaml"
    save(draft_mapping("practicehub", "pipedrive"), path, "header comment")
    return path.read_text()


@pytest.fixture
def mapping(tmp_path: Path, draft: str) -> Path:
    path = tmp_path / "mapping.yaml"
    text = draft.replace("      - source: sex\n",
                                    "      # keep: the clinic asked for sex as recorded\n"
                                    "      - source: sex\n", 1)
    path.write_text(text)
    return path


def _field(path: Path, map_name: str, source: str) -> tuple[int, object]:
    om = load(path).object_map(map_name)
    i = next(i for i, f in enumerate(om.fields) if f.source == source)
    return i, om.fields[i]


def test_edits_keep_comments_and_touch_one_node(mapping: Path) -> None:
    before = mapping.read_text()
    i, _ = _field(mapping, "patient_person", "sex")
    mapping_edit.add_custom_field(mapping, "person", "sex_label", "Sex (as recorded)", "text",
                                  "")
    mapping_edit.edit_field(mapping, "patient_person", i, "sex", target="custom:sex_label",
                            status="review", reason="check with the clinic")
    mapping_edit.set_value_map(mapping, "patient_person", i, "sex",
                               "female = F\nmale => M\n", "keep")
    after = mapping.read_text()
    assert "# keep: the clinic asked for sex as recorded" in after
    assert after.startswith("# header comment")
    _, fm = _field(mapping, "patient_person", "sex")
    assert fm.target == "custom:sex_label" and fm.status == "review"
    assert fm.reason == "check with the clinic"
    assert fm.value_map == {"female": "F", "male": "M"} and fm.value_map_default == "keep"
    cf = load(mapping).custom_field("person", "sex_label")
    assert cf is not None and cf.kind.value == "text"
    # everything else is byte-identical: only the edited lines differ
    changed = set(after.splitlines()) ^ set(before.splitlines())
    assert len(changed) < 30, changed


def test_bad_edits_are_refused_and_leave_the_file(mapping: Path) -> None:
    before = mapping.read_text()
    i, _ = _field(mapping, "patient_person", "sex")
    for call in (
        lambda: mapping_edit.edit_field(mapping, "patient_person", i, "sex", target="x",
                                        status="bogus", reason=""),
        lambda: mapping_edit.edit_field(mapping, "patient_person", i, "not-sex", target="x",
                                        status="mapped", reason=""),  # stale page
        lambda: mapping_edit.edit_field(mapping, "nope", 0, "sex", target="x",
                                        status="mapped", reason=""),
        lambda: mapping_edit.set_value_map(mapping, "patient_person", i, "sex", "no sign", ""),
        lambda: mapping_edit.add_custom_field(mapping, "person", "Bad Name", "L", "text", ""),
        lambda: mapping_edit.add_custom_field(mapping, "person", "ok_name", "L", "nokind", ""),
        lambda: mapping_edit.add_custom_field(mapping, "person", "mrn", "MRN", "text", ""),
    ):
        with pytest.raises(MappingError):
            call()
        assert mapping.read_text() == before


def test_an_edit_after_confirmation_unconfirms(mapping: Path) -> None:
    from ferry.mapping.validate import confirm_file

    confirm_file(mapping, None, None, by="tester")
    doc = load(mapping)
    assert doc.confirmed and doc.confirmed.hash == content_hash(doc)
    i, fm = _field(mapping, "patient_person", "sex")
    mapping_edit.edit_field(mapping, "patient_person", i, "sex", target=fm.target,
                            status="ignored", reason="not needed in the CRM")
    doc = load(mapping)
    assert doc.confirmed and doc.confirmed.hash != content_hash(doc)
