"""mapping.yaml: round trip with hand edits, every validation error case, confirm and lock."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ferry.connectors.base import FieldSpec, ObjectInfo
from ferry.errors import MappingError
from ferry.mapping.draft import draft_mapping, mask
from ferry.mapping.mapping_file import (
    content_hash,
    dump_doc,
    load,
    load_rt,
    require_confirmed,
    save,
    set_keys,
    write_rt,
)
from ferry.mapping.model import CustomField, FieldMap, MappingDoc, ObjectMap, Transform
from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import confirm, confirm_file, profile_records, validate
from ferry.model.entities import CustomValue
from ferry.model.fields import Kind
from ferry.sandbox.synth import Practice

PRACTICE = Practice(5, 25)
PROFILE = {o: profile_records(PRACTICE.iter(o)) for o in PRACTICE.objects()}


def small_doc(**fields) -> MappingDoc:
    fm = [FieldMap(source="last_name", target="last_name", required=True),
          FieldMap(source=["first_name", "last_name"], target="name",
                   transform=[Transform(name="join")])]
    fm += fields.get("extra", [])
    om = ObjectMap(name="patient_person", source="patient", target="person",
                   id_field="custom:ferry_source_id", fields=fm)
    cfs = [CustomField(name="ferry_source_id", label="Ferry source ID", kind=Kind.TEXT,
                       external_id=True)] + fields.get("cfs", [])
    return MappingDoc(source="practicehub", destination="pipedrive", objects=[om],
                      custom_fields={"person": cfs})


def test_hand_edit_round_trip_keeps_comments(tmp_path):
    path = tmp_path / "mapping.yaml"
    save(load_recipe("practicehub", "pipedrive"), path, "header comment")
    text = path.read_text()
    # a person edits: a comment, a changed target, a reordered value
    text = text.replace("objects:\n", "objects:  # reviewed by Dr Ops\n", 1)
    text = text.replace("      - source: occupation\n        target: job_title",
                        "      # occupation goes to the job title, checked with the clinic\n"
                        "      - source: occupation\n        target: job_title", 1)
    path.write_text(text)
    tree = load_rt(path)
    tree["objects"][0]["note"] = "edited note"
    write_rt(tree, path)
    out = path.read_text()
    assert "# header comment" in out and "# reviewed by Dr Ops" in out
    assert "# occupation goes to the job title, checked with the clinic" in out
    assert "edited note" in out
    doc = load(path)
    assert doc.objects[0].note == "edited note"
    # key order of the file is kept
    assert out.index("version:") < out.index("objects:") < out.index("custom_fields:")


def test_save_keeps_every_setting_of_an_object_and_a_field(tmp_path):
    # a key the writer's order lists leave out is dropped on save: a user's deletion
    # policy (on_delete) once vanished when `ferry map` rewrote the file
    doc = small_doc(extra=[FieldMap(source="email", target="email", on_invalid="leave_out",
                                    default="x@example.org")])
    doc.objects[0].on_delete = "unlink"
    doc.objects[0].note = "why this map exists"
    save(doc, tmp_path / "mapping.yaml")
    back = load(tmp_path / "mapping.yaml")
    assert back.objects[0].on_delete == "unlink"
    assert back.objects[0].model_dump() == doc.objects[0].model_dump()
    from ferry.mapping.mapping_file import FIELD_ORDER, OBJECT_ORDER
    assert set(ObjectMap.model_fields) <= set(OBJECT_ORDER)
    assert set(FieldMap.model_fields) <= set(FIELD_ORDER)


def test_confirm_then_edit_needs_reconfirm(tmp_path):
    path = tmp_path / "mapping.yaml"
    save(small_doc(), path, "my map")
    with pytest.raises(MappingError, match="not confirmed"):
        require_confirmed(path)
    stamped = confirm_file(path, PROFILE, by="ana")
    assert stamped.confirmed and stamped.confirmed.by == "ana"
    assert "# my map" in path.read_text()
    assert require_confirmed(path).confirmed.hash == content_hash(stamped)
    # keys recorded by prepare do not unconfirm
    doc = load(path)
    doc.custom_fields["person"][0].key = "abc123"
    set_keys(path, doc)
    assert require_confirmed(path).custom_fields["person"][0].key == "abc123"
    # a real edit does
    path.write_text(path.read_text().replace("target: name", "target: first_name"))
    with pytest.raises(MappingError, match="changed after it was confirmed"):
        require_confirmed(path)
    # comments alone do not
    save(small_doc(), path)
    confirm_file(path, PROFILE, by="ana")
    path.write_text(path.read_text() + "# a late comment\n")
    require_confirmed(path)


def problems(doc, profile=PROFILE, schema=None):
    return validate(doc, profile, schema)


def test_valid_doc_confirms():
    assert problems(small_doc()) == []
    assert confirm(small_doc(), PROFILE).confirmed is not None


@pytest.mark.parametrize("extra,cfs,needle", [
    ([FieldMap(source="shoe_size", target="name2")], [], "unknown source field 'shoe_size'"),
    ([FieldMap(source="custom.nope", target="x1")], [], "unknown source field 'custom.nope'"),
    ([FieldMap(source="mrn", target="custom:mrn")], [], "custom field 'mrn' is not declared"),
    ([FieldMap(source="date_of_birth", target="custom:dob")],
     [CustomField(name="dob", label="DOB", kind=Kind.INT)], "type clash: date into int"),
    ([FieldMap(source="clinic_id", target="custom:clinic")],
     [CustomField(name="clinic", label="Clinic", kind=Kind.REF)], "add transform: [ref]"),
    ([FieldMap(source="status", target="custom:st", value_map={"active": "Active"})],
     [CustomField(name="st", label="St", kind=Kind.ENUM, options=["Active"])],
     "value map misses"),
    ([FieldMap(source="status", target="custom:st2")],
     [CustomField(name="st2", label="St2", kind=Kind.ENUM, options=["x"])], "lacks option"),
    ([FieldMap(source="mrn", target="custom:a"), FieldMap(source="sex", target="custom:a2")],
     [CustomField(name="a", label="A", kind=Kind.TEXT),
      CustomField(name="a", label="A again", kind=Kind.TEXT),
      CustomField(name="a2", label="a", kind=Kind.TEXT)], "declared 2 times"),
    ([], [CustomField(name="b1", label="Same", kind=Kind.TEXT),
          CustomField(name="b2", label="same", kind=Kind.TEXT)], "label 'same'"),
    ([FieldMap(source="mrn", target="custom:q", status="review")],
     [CustomField(name="q", label="Q", kind=Kind.TEXT)], "still in review"),
    ([FieldMap(source="mrn", target="-", status="ignored", reason="")], [],
     "ignored without a reason"),
    ([FieldMap(source="mrn", target="zz", transform=[Transform(name="exec")])], [],
     "unknown transform 'exec'"),
])
def test_validation_errors(extra, cfs, needle):
    got = problems(small_doc(extra=extra, cfs=cfs))
    assert any(needle in p for p in got), got
    with pytest.raises(MappingError, match="problem"):
        confirm(small_doc(extra=extra, cfs=cfs), PROFILE)


def test_value_map_of_phi_field_names_no_values():
    extra = [FieldMap(source="blood_group", target="custom:bg", value_map={"A+": "A+"})]
    cfs = [CustomField(name="bg", label="BG", kind=Kind.ENUM, options=["A+"])]
    (p,) = [x for x in problems(small_doc(extra=extra, cfs=cfs)) if "value map" in x]
    assert "PHI field" in p and "O+" not in p


def test_required_and_schema_errors():
    doc = small_doc()
    doc.objects[0].fields = [f for f in doc.objects[0].fields if f.target != "name"]
    assert any("required destination field person.name" in p for p in problems(doc))
    schema = [ObjectInfo("person", fields=[FieldSpec("name", Kind.TEXT, required=True),
                                           FieldSpec("last_name", Kind.TEXT),
                                           FieldSpec("owner_id", Kind.REF, required=True)])]
    got = problems(small_doc(extra=[FieldMap(source="email", target="emailz")]), schema=schema)
    assert any("person has no field 'emailz'" in p for p in got)
    assert any("required destination field person.owner_id" in p for p in got)
    bad = small_doc()
    bad.objects[0].target = "human"
    assert any("no object 'human'" in p for p in problems(bad, schema=schema))
    no_id = small_doc()
    no_id.objects[0].id_field = None
    assert any("need id_field" in p for p in problems(no_id))
    ro = [ObjectInfo("person", fields=[FieldSpec("name", Kind.TEXT, required=True),
                                       FieldSpec("last_name", Kind.TEXT, writable=False)])]
    assert any("read-only" in p for p in problems(small_doc(), schema=ro))


def test_structural_errors():
    from ferry.mapping.model import Condition

    doc = small_doc()
    doc.objects.append(ObjectMap(name="ins", source="insurance_policy", target="person",
                                 mode="fold", fields=[]))
    doc.objects.append(ObjectMap(name="w", source="appointment", target="activity",
                                 id_field="custom:ferry_source_id",
                                 when=Condition(field="colour", not_in=["x"])))
    doc.objects.append(ObjectMap(name="x", source="spaceship", target="deal"))
    doc.objects.append(doc.objects[0].model_copy())
    got = problems(doc)
    for needle in ("needs parent", "`when` names unknown field 'colour'",
                   "unknown source object 'spaceship'", "'patient_person' is used twice"):
        assert any(needle in p for p in got), (needle, got)


def test_draft_adds_custom_fields_samples_and_options():
    recs = list(PRACTICE.iter("patient"))
    for i, r in enumerate(recs):
        r.custom = {"shoe_size": CustomValue(type="int", value=38 + i % 5),
                    "insurance_carrier": CustomValue(type="text", value=f"Carrier {i % 3}"),
                    "preferred_language": CustomValue(type="enum", value=["en", "fr"][i % 2])}
    profile = dict(PROFILE, patient=profile_records(recs))
    doc = draft_mapping("practicehub", "pipedrive", profile)
    om = next(o for o in doc.objects if o.name == "patient_person")
    by_src = {f.source: f for f in om.fields if isinstance(f.source, str)}
    assert by_src["custom.shoe_size"].target.startswith("custom:src_shoe_size")
    assert by_src["custom.shoe_size"].transform[0].name == "int"
    lang = doc.custom_field("person", "src_preferred_language")
    assert lang and lang.kind is Kind.ENUM and set(lang.options) == {"en", "fr"}
    carrier = by_src["custom.insurance_carrier"]
    assert carrier.status in ("mapped", "review") and "insurance" in carrier.target
    email = next(f for f in om.fields if f.source == "email")
    assert email.samples and all("•" in s for s in email.samples)  # PHI masked
    status = doc.custom_field("person", "patient_status")
    assert status and status.options  # options read from the data
    assert mask("Jonathan") == "J•••••• (8 chars)"
    assert "confidence" in dump_doc(doc) and "samples" in dump_doc(doc)


def test_cli_map_and_confirm(tmp_path):
    from ferry.cli.app import app
    from ferry.engine.project import Project

    (tmp_path / "ferry.yaml").write_text(
        "project: t\nsource: {kind: practicehub}\ndestination: {kind: pipedrive}\n")
    proj = Project.at(tmp_path)
    for obj in PRACTICE.objects():
        proj.store.put_records(obj, PRACTICE.iter(obj))
    proj.store.close()
    runner = CliRunner()
    r = runner.invoke(app, ["map", "-p", str(tmp_path), "--no-describe"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "mapping.yaml").exists()
    r2 = runner.invoke(app, ["map", "-p", str(tmp_path), "--no-describe"])
    assert r2.exit_code != 0  # refuses to overwrite
    r3 = runner.invoke(app, ["map", "-p", str(tmp_path), "--no-describe", "--confirm",
                             "--by", "qa"])
    assert r3.exit_code == 0, r3.output
    assert require_confirmed(tmp_path / "mapping.yaml").confirmed.by == "qa"


def test_custom_target_lines_say_what_prepare_creates():
    text = dump_doc(load_recipe("pulse", "odoo"))
    assert "target: custom:studio_blood_group  # creates enum field 'Blood group' [A+, A-, B+" \
        in text


def test_draft_picks_odoo_no_accounting_when_accounting_is_absent():
    schema = [ObjectInfo("res.partner", fields=[FieldSpec("name", Kind.TEXT, required=True)])]
    doc = draft_mapping("pulse", "odoo", PROFILE, schema)
    assert doc.recipe == "pulse__odoo@no_accounting"
    assert not any(om.target == "account.move" for om in doc.objects)
    assert draft_mapping("pulse", "odoo", PROFILE, schema + [ObjectInfo("account.move")]
                         ).recipe == "pulse__odoo"
