"""Run ``ferry.engine.extract`` against a PracticeHub sandbox (the subprocess the kill test kills).

Usage: python extract_driver.py STAGING_DB SETTINGS_JSON. Prints one line per staged page.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ferry.engine.extract import extract
from ferry.model.staging import StagingStore
from ferry.sources.practicehub import create


def main() -> None:
    db, settings = sys.argv[1], json.loads(sys.argv[2])
    store = StagingStore(Path(db))
    source = create(settings, Path(db).parent)
    extract(source, store, run_id="kill-test",
            on_page=lambda page, stats: print(f"page {stats.pages}", flush=True))  # noqa: T201
    print("done", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
