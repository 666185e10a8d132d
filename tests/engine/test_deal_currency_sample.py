"""An export whose invoices name no currency -> Pipedrive: each deal is sent without one and
Pipedrive gives it its user's default (v2 POST /deals: "If omitted, currency will be set to the
default currency of the authorized user"). The load lists each such deal (default_currency is
unset) and the sample names Pipedrive's rule rather than FAIL on 'unexpected currency'."""

from __future__ import annotations

from pathlib import Path

from ferry.engine import pipeline as P
from ferry.engine.readback import run_sample

from .setup_pair import approve_phi, make_pair


def _no_currency(export: Path) -> None:
    path = export / "invoices.csv"
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    col = lines[0].split(";").index("Currency")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(";")
        if len(cells) > col:
            cells[col] = ""
        out.append(";".join(cells))
    path.write_bytes("\r\n".join(out).encode("utf-8"))


def test_a_deal_given_the_users_default_currency_is_explained_and_listed(
        tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="pipedrive", source="clinic_csv",
                   patients=12, seed=5, env_prefix="FERRY_DEALCUR_") as pair:
        proj = pair.project
        _no_currency(Path(pair.source_info["base_url"]))
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        report, diff, _ = run_sample(proj, 40)
        cur = [f for f in diff.fields if f.map.startswith("invoice") and f.key == "currency"]
        assert cur and all(f.sent is None and f.stored == "USD" for f in cur), cur
        assert all(f.explained and "user's default" in f.note for f in cur), cur
        assert diff.passed, [(f.map, f.field, f.category, f.note) for f in diff.unexplained]
        listed = [s for s in proj.store.skips(report.run_id)
                  if s.stage == "load-field" and s.field == "currency"]
        assert len(listed) == len(cur)
