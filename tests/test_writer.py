"""Publishing a report: atomic, durable, and tidy after a crash."""

from __future__ import annotations

import os

import pytest

from conftest import make_outcome
from imgconf.report import writer
from imgconf.report.outcome import State, VendorOutcome


def outcome():
    return make_outcome(VendorOutcome("altum", "Altum", State.CONFORMANT, 1.0, [], 0, 1, {"passed": 1}, []))


def test_a_crashed_runs_staging_directory_is_removed_and_a_live_ones_kept(tmp_path):
    dead = tmp_path / ".staging-999999999-abc"  # no such process
    dead.mkdir()
    (dead / "report.json").write_text("{half")
    alive = tmp_path / f".staging-{os.getpid()}-xyz"  # a run in progress beside this one
    alive.mkdir()
    directory = writer.write_report(outcome(), tmp_path)
    assert not dead.exists() and alive.exists()
    assert (directory / "report.json").is_file() and (tmp_path / "LATEST").read_text().strip() == directory.name


def test_every_report_file_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    directory = writer.write_report(outcome(), tmp_path)
    files = [path for path in directory.rglob("*") if path.is_file()]
    # each file, the staging directory, the reports directory and LATEST
    assert len(synced) >= len(files) + 3


def test_a_write_that_fails_half_way_leaves_no_staging_directory_and_no_report(tmp_path, monkeypatch):
    def full_disk(path: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_fsync_dir", full_disk)  # after every file is in staging, before the rename
    with pytest.raises(OSError):
        writer.write_report(outcome(), tmp_path)
    assert not list(tmp_path.glob(".staging-*")) and not list(tmp_path.glob("*/report.json"))
