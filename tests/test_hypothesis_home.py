"""The UTF-8 table a run seeds into Hypothesis' storage is the one Hypothesis would build, and Hypothesis reads it."""

from __future__ import annotations

import gzip
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import _hypothesis_globals  # type: ignore[import-untyped]
import hypothesis.configuration
import pytest
from hypothesis.internal import charmap

from imgconf.runner import hypothesis_home

BUILD = """
import sys
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.internal.charmap import charmap_file, intervals_from_codec
set_hypothesis_home_dir(sys.argv[1])
intervals_from_codec("utf-8")
sys.stdout.write(str(charmap_file("codec-v2-utf-8")))
"""


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Path]:
    """Hypothesis' storage in a folder of the test's own, given back as it was afterwards."""
    before = hypothesis.configuration.storage_directory(intent_to_write=False).path
    hypothesis.configuration.set_hypothesis_home_dir(tmp_path / "hypothesis")
    try:
        yield tmp_path / "hypothesis"
    finally:
        hypothesis.configuration.set_hypothesis_home_dir(before)


def test_the_seeded_table_is_what_hypothesis_builds(tmp_path: Path) -> None:
    # Hypothesis' own build, every code point encoded (2 s, 230 MB), in a process of its own.
    built = subprocess.run(
        [sys.executable, "-c", BUILD, str(tmp_path / "built")], capture_output=True, text=True, check=True
    )
    # Compared unzipped: Hypothesis' gzip header names the temporary file it wrote.
    assert gzip.decompress(Path(built.stdout).read_bytes()) == gzip.decompress(hypothesis_home.utf8_table())


def test_hypothesis_reads_the_seeded_table_instead_of_building_it(storage: Path, monkeypatch) -> None:
    assert hypothesis_home.seed_utf8_table() is True
    # A build would now find no code point at all: only the file can give the full table back.
    monkeypatch.setattr(charmap, "sys", types.SimpleNamespace(maxunicode=-1))
    encodable, not_round_tripping = charmap.intervals_from_codec.__wrapped__("utf-8")
    assert encodable.intervals == ((0, 0xD7FF), (0xE000, 0x10FFFF))
    assert not_round_tripping.intervals == ()


def test_the_table_goes_where_hypothesis_looks_for_it(storage: Path) -> None:
    assert hypothesis_home.utf8_table_path() == charmap.charmap_file(hypothesis_home.UTF8_TABLE)
    assert hypothesis_home.utf8_table_path().is_relative_to(storage)


def test_seeding_while_hypothesis_plugin_initialises_warns_of_nothing(storage: Path, monkeypatch) -> None:
    """A fork of a process that imported Hypothesis' pytest plugin seeds before the session starts."""
    monkeypatch.setattr(_hypothesis_globals, "in_initialization", 1)
    monkeypatch.setattr(hypothesis.configuration, "_first_postinit_what", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hypothesis_home.seed_utf8_table() is True


def test_a_table_already_there_is_left_as_it_is(storage: Path) -> None:
    table = charmap.charmap_file(hypothesis_home.UTF8_TABLE)
    table.parent.mkdir(parents=True)
    table.write_bytes(b"Hypothesis' own")
    assert hypothesis_home.seed_utf8_table() is False
    assert table.read_bytes() == b"Hypothesis' own"


def test_an_unwritable_storage_is_no_error(storage: Path) -> None:
    storage.write_text("a file where the folder should be")
    assert hypothesis_home.seed_utf8_table() is False
    assert storage.read_text() == "a file where the folder should be"
    assert sorted(path.name for path in storage.parent.iterdir()) == [storage.name]
