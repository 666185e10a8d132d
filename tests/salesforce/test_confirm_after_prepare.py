"""``ferry map --force`` then ``ferry map --confirm`` after ``prepare`` (hout2, 7 December, an
Irish clinic's export to Salesforce): once prepare had created Practitioner_Patient_Relationship__c
the confirm failed with "required destination field ...Name is not mapped", though the writer
fills a custom object's Text Name from the record's source id when the map leaves it empty.
Describe says what the map must give, not what the writer gives itself."""

from __future__ import annotations

from ferry.engine.prepare import schema_items
from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import validate

OBJ = "Practitioner_Patient_Relationship__c"


def test_confirm_after_prepare_does_not_ask_for_a_name_the_writer_fills(sf) -> None:
    h = sf()
    dest = h.dest()
    doc = load_recipe("clinic_csv", "salesforce")
    assert not any(om.target == OBJ and fm.target in ("Name", "name") and fm.status == "mapped"
                   for om in doc.objects for fm in om.fields)  # the map gives it no Name
    assert all(p.item.kind for p in dest.ensure(schema_items(doc)))  # what prepare creates
    schema = dest.describe()
    [junction] = [o for o in schema if o.name == OBJ]
    name = junction.field("Name")
    assert name is not None and not name.required
    problems = validate(doc, schema=schema)
    assert not [p for p in problems if "is not mapped" in p], problems
    # and the writer does fill it: a junction row with no Name is created, named by its id
    [patient, doctor] = dest.create("Contact", [{"LastName": "Byrne"}, {"LastName": "Walsh"}])
    keys = {f.name: f.key for f in junction.fields}
    [row] = dest.create(OBJ, [{keys["Ferry_Source_Id__c"]: "PP-1",
                               keys["Patient_Contact__c"]: patient.dest_id,
                               keys["Practitioner_Contact__c"]: doctor.dest_id}])
    assert row.ok, row.error
    [stored] = [r for r in h.records(OBJ) if r["Id"] == row.dest_id]
    assert stored["Name"] == "PP-1"
