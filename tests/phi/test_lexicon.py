"""The detector's word lists: the written-out name lists are faker's, as the installed faker has
them (when faker's lists change, ``python -m ferry.phi.lexicon`` writes them again)."""

from __future__ import annotations

import pytest

from ferry.phi import lexicon


@pytest.mark.parametrize("kind", ["given", "family"])
def test_name_files_are_fakers_lists(kind: str) -> None:
    written = lexicon.given_names() if kind == "given" else lexicon.family_names()
    assert written == lexicon.from_faker(kind)
    assert len(written) > 5000  # every locale's provider was read, not an empty list
    text = lexicon.NAME_FILES[kind].read_text(encoding="utf-8")
    assert text.endswith("\n") and text.split("\n")[:-1] == sorted(written)


def test_reading_the_names_does_not_import_faker() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom ferry.phi import lexicon\nlexicon.given_names()\n"
            "lexicon.family_names()\nprint('faker' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
