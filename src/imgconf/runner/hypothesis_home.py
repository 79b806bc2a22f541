"""Where Hypothesis keeps its caches during a run, and the one table in them that costs a first run dearly.

Hypothesis keeps its Unicode tables in `./.hypothesis` by default: every new directory a run starts in (a CI
workspace, a temporary folder) was left a `.hypothesis/` and paid ~1.2 s of the smoke run to fill it again.
A run keeps them in imgconf's user cache instead. The suites use no example database, so nothing else is
kept there; the tables are keyed on what they hold (Unicode's version), so any run may share them, and
Hypothesis works on without them where the folder cannot be written.

The costly table is the set of characters UTF-8 can encode, which schemathesis' text strategies ask for
(`codec="utf-8"`, its default). Hypothesis builds it by encoding and decoding every one of the 1,114,112
code points, one tuple each: 2.3 s and a 300 MB peak on a user's first run, and on every run of a CI
runner whose home starts empty, more than the whole run needs otherwise. The answer is a fact of the
encoding (strict UTF-8 encodes every code point but the surrogates, and decodes each back), so a run
writes the table itself where it is missing, the very table Hypothesis would write (tests/test_hypothesis_home.py
holds the two equal).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import unicodedata
from pathlib import Path

import hypothesis.configuration

from imgconf import paths

STORAGE_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"

# Hypothesis' file for a codec's table: a versioned name, so a Hypothesis that changes the format reads a
# different file and builds its own, never misreads this one.
UTF8_TABLE = "codec-v2-utf-8"
SURROGATES = (0xD800, 0xDFFF)


def keep_hypothesis_caches_per_user() -> None:
    """Point Hypothesis at imgconf's user cache (unless HYPOTHESIS_STORAGE_DIRECTORY says where) and seed it."""
    chosen = os.environ.get(STORAGE_ENV)  # read here too: a fork may have fixed hypothesis' choice
    hypothesis.configuration.set_hypothesis_home_dir(Path(chosen) if chosen else paths.cache_dir() / "hypothesis")
    seed_utf8_table()


def utf8_table() -> bytes:
    """The UTF-8 table as Hypothesis writes it: encodable intervals and (none) not round-tripping, gzipped."""
    encodable = [[0, SURROGATES[0] - 1], [SURROGATES[1] + 1, sys.maxunicode]]
    text = json.dumps([encodable, []])
    return gzip.compress(text.encode(), mtime=1)


def utf8_table_path() -> Path:
    """Where Hypothesis looks for the table (its `charmap_file`), asked without announcing a write.

    A run starts pytest from a process that may have imported Hypothesis' pytest plugin already (a fork of
    one that warmed its imports), and until the session starts Hypothesis warns of any storage touched with
    intent to write, a warning meant for slow plugins: a single small file written here is not that, and the
    warning would reach the user's terminal. tests/test_hypothesis_home.py holds this path to `charmap_file`'s.
    """
    names = ("unicode_data", unicodedata.unidata_version, f"{UTF8_TABLE}.json.gz")
    return hypothesis.configuration.storage_directory(*names, intent_to_write=False).path


def seed_utf8_table() -> bool:
    """Write the UTF-8 table into Hypothesis' storage where it is missing; False where it was there or unwritable.

    Written to a temporary file and renamed into place, as Hypothesis does, so two workers starting together
    never leave half a file.
    """
    target = utf8_table_path()
    if target.exists():
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(utf8_table())
        os.replace(temporary, target)
    except OSError:
        return False
    return True
