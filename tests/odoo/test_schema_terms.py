"""``prepare``'s table and ``rollback``'s preview name the schema Ferry made in the destination's
own words: on Odoo a pipeline is a sales team (``crm.team``) and its stages ``crm.stage``, not
Pipedrive's "pipeline deal / stage deal"; Salesforce's custom objects and fields by their kind,
not "field/stage"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine import pipeline
from ferry.engine.prepare import schema_term
from ferry.engine.rollback import preview, target_runs
from ferry.mapping.mapping_file import content_hash, save
from ferry.mapping.model import Confirmation
from ferry.mapping.recipes import load_recipe
from ferry.sandbox.harness import start_pair


def test_each_destination_names_its_schema() -> None:
    assert schema_term("odoo", "pipeline", "deal") == ("sales team", "crm.team")
    assert schema_term("odoo", "stage", "deal") == ("stage", "crm.stage")
    assert schema_term("odoo", "custom_field", "res.partner") == ("custom field", "res.partner")
    assert schema_term("salesforce", "custom_object", "Invoice__c") == ("custom object",
                                                                        "Invoice__c")
    assert schema_term("pipedrive", "stage", "deal") == ("stage", "deal")  # its own words


def test_odoo_prepare_and_rollback_preview_in_odoo_words(tmp_path: Path) -> None:
    with start_pair(tmp_path / "p", source="clinic_csv", destination="odoo", patients=6,
                    seed=3, time_scale=1000.0, dest_extra={"version": 17, "accounting": False},
                    env_prefix="FERRY_TERMS_") as pair:
        doc = load_recipe("clinic_csv", "odoo", "no_accounting")
        doc.confirmed = Confirmation(hash=content_hash(doc), by="tests",
                                     at=dt.datetime.now(dt.UTC).isoformat())
        save(doc, pair.project.mapping_path)
        pipeline.run_extract(pair.project)
        result = CliRunner().invoke(app, ["prepare", "-p", str(pair.project.root)],
                                    env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        rows = {" ".join(line.split()) for line in result.output.splitlines()}
        assert {"sales team crm.team 2", "stage crm.stage 6 1",
                "activity type mail.activity.type 4"} <= rows, result.output
        assert " deal " not in result.output

        runs = target_runs(pair.project.store, None)
        todo = preview(pair.project.audit, runs, "odoo")
        assert todo[("remove sales team", "crm.team")] == 2
        assert todo[("remove stage", "crm.stage")] == 6  # not the one that existed before
        assert todo[("remove custom field", "res.partner")] > 0
        # the four activity types existed before prepare (its table's "existed" column): the
        # rollback leaves them, so the preview does not promise to remove them
        assert ("remove activity type", "mail.activity.type") not in todo
        assert not any(obj in ("deal", "activity") or "field/stage" in what
                       for what, obj in todo)
