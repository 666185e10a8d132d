"""The fast YAML reader gives what ruamel's round-trip reader gives (YAML 1.2), or steps aside."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ferry.mapping import mapping_file
from ferry.model import yaml12

RECIPES = sorted((Path(mapping_file.__file__).parent / "recipes").glob("*.yaml"))

TRICKY = """\
yes_word: yes
no_word: no
on_word: on
leading_zero: 0123
octal: 0o17
hex: 0x1F
underscored: 1_000
clock: 1:30
day: 2020-01-01
stamp: 2020-01-01T10:30:00
exp: 1e3
half: .5
zero_float: 012.5
signed: +5
negative: -7
empty:
tilde: ~
null_word: Null
true_caps: TRUE
quoted: "0123"
value_map: {01: Single, 02: Married, Y: yes, "N": no}
list: [1, "2", three, 4.0]
anchored: &a {k: 1}
merged: {<<: *a, j: 2}
"""


@functools.cache
def _ruamel(text: str) -> object:
    """ruamel's document, parsed once per text and process: both tests below compare against
    it (neither mutates it; parse_doc builds new dicts), and ruamel takes most of their time."""
    return YAML().load(text)


@pytest.mark.parametrize("text", [TRICKY, *(p.read_text() for p in RECIPES)],
                         ids=["tricky", *(p.stem for p in RECIPES)])
def test_same_values_as_ruamel(text: str) -> None:
    assert yaml12.load(text) == _ruamel(text)


def test_recipes_parse_to_the_same_documents() -> None:
    assert RECIPES
    for p in RECIPES:
        text = p.read_text()
        assert mapping_file.parse_doc(yaml12.load(text)) == \
            mapping_file.parse_doc(_ruamel(text)), p.name


def test_duplicate_key_is_left_to_ruamel() -> None:
    with pytest.raises(yaml12.Unsure):
        yaml12.load("a: 1\na: 2\n")
    with pytest.raises(yaml12.Unsure):
        yaml12.load("a: [1\n")


def test_duplicate_key_in_mapping_file_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("version: 1\nversion: 1\n")
    with pytest.raises(Exception, match="(?i)duplicate"):
        mapping_file.load(path)


def test_the_resolvers_written_out_are_ruamels_own() -> None:
    """``yaml12.RESOLVERS_1_2`` is ruamel's YAML 1.2 implicit resolvers written out (so
    reading does not import ruamel): a ruamel that resolves otherwise fails here."""
    import re

    from ruamel.yaml import resolver

    theirs = [(tag, rx.pattern, rx.flags, first) for versions, tag, rx, first
              in resolver.implicit_resolvers if (1, 2) in versions]
    ours = [(tag, re.compile(p, flags).pattern, re.compile(p, flags).flags, first)
            for tag, p, flags, first in yaml12.RESOLVERS_1_2]
    assert ours == theirs


def _project(tmp_path: Path) -> Path:
    (tmp_path / ".ferry").mkdir()
    return tmp_path / "mapping.yaml"


def test_a_project_file_is_kept_and_read_back_without_parsing(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    path = _project(tmp_path)
    text = RECIPES[0].read_text()
    first = yaml12.load_kept(text, path)
    assert first == yaml12.load(text)
    kept = tmp_path / ".ferry" / yaml12.KEPT_DIR / "mapping.yaml.json"
    assert kept.exists()

    def no_parse(_: str) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(yaml12, "load", no_parse)
    again = yaml12.load_kept(text, path)
    assert again == first and again is not first
    changed = text + "\n# edited\n"  # another text: read from it, kept anew
    with pytest.raises(AssertionError, match="parsed again"):
        yaml12.load_kept(changed, path)
    monkeypatch.undo()
    before = kept.read_bytes()
    assert yaml12.load_kept(changed, path) == first
    assert kept.read_bytes() != before
    monkeypatch.setattr(yaml12, "load", no_parse)
    assert yaml12.load_kept(changed, path) == first


def test_values_json_would_not_give_back_are_never_kept(tmp_path: Path) -> None:
    path = _project(tmp_path)
    kept = tmp_path / ".ferry" / yaml12.KEPT_DIR / "mapping.yaml.json"
    for text in ("day: 2020-01-01\n", "value_map: {01: Single}\n", "x: .nan\n",
                 "pairs: !!set {a, b}\n"):
        assert yaml12.load_kept(text, path) == yaml12.load(text) or text.startswith("x:")
        assert not kept.exists(), text
    assert yaml12.load_kept(TRICKY, path) == _ruamel(TRICKY)  # a date in it: not kept
    assert not kept.exists()


def test_outside_a_project_or_with_a_broken_kept_file(tmp_path: Path) -> None:
    assert yaml12.load_kept("a: 1\n", tmp_path / "mapping.yaml") == {"a": 1}
    assert not (tmp_path / ".ferry").exists()  # no project folder: nothing written
    path = _project(tmp_path)
    yaml12.load_kept("a: 1\n", path)
    kept = tmp_path / ".ferry" / yaml12.KEPT_DIR / "mapping.yaml.json"
    kept.write_bytes(b"{not json")
    assert yaml12.load_kept("a: 1\n", path) == {"a": 1}
    with pytest.raises(yaml12.Unsure):  # what the C reader is unsure of is not kept either
        yaml12.load_kept("a: 1\na: 2\n", path)
