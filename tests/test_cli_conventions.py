"""The conventions an API tester expects of a CLI: --version, NO_COLOR/--no-color, -q/-v, -k, shell completion,
docs written where they belong, a taken port explained, and a dry run that is a summary with an honest exit."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import imgconf.cli as cli_module
from conftest import ROOT, clean_env
from imgconf import __version__, vendors

COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-7]|38;[25];[0-9;]+|9[0-7])m")


def test_version(cli):
    for flag in ("--version", "-V"):
        result = cli(flag)
        assert result.code == 0 and result.stdout.strip() == f"imgconf, version {__version__}", result.output


def test_no_color_flag_and_variable_switch_colour_off(cli):
    coloured = cli("run", "--vendor", "altum", "-k", "examples", env=clean_env(FORCE_COLOR="1"))
    assert coloured.code == 0, coloured.output
    assert COLOUR.search(coloured.stdout), "FORCE_COLOR should colour the verdict (else this test proves nothing)"
    for args, env in (
        (("--no-color", "run"), clean_env(FORCE_COLOR="1")),
        (("run",), clean_env(FORCE_COLOR="1", NO_COLOR="1")),
    ):
        plain = cli(*args, "--vendor", "altum", "-k", "examples", env=env)
        assert plain.code == 0 and "conformant" in plain.stdout, plain.output
        assert not COLOUR.search(plain.stdout), args


def test_k_selects_tests_by_name_like_pytest(cli):
    result = cli("run", "--vendor", "altum", "-k", "examples and not contract")
    assert result.code == 0, result.output
    tests = result.report()["vendors"][0]["tests"]
    assert tests["passed"] == sum(tests.values()) > 0
    whole = cli("run", "--vendor", "altum", "--dry-run")
    narrowed = cli("run", "--vendor", "altum", "--dry-run", "-k", "examples and not contract")
    count = re.compile(r"tests: (.*)")
    assert "behaviour" in count.search(whole.stdout).group(1)
    assert count.search(narrowed.stdout).group(1) == "examples 28", narrowed.stdout


def test_quiet_prints_the_verdict_and_the_report_only(cli):
    result = cli("run", "--vendor", "altum", "-k", "examples", "-q")
    assert result.code == 0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) <= 2 and lines[-1].startswith("report: "), result.stdout


def test_shell_completion_is_click_s(cli):
    env = clean_env(_IMGCONF_COMPLETE="bash_source")
    completed = subprocess.run(
        [sys.executable, "-c", "from imgconf.cli import main; main()"], capture_output=True, text=True, env=env
    )
    assert completed.returncode == 0 and "_imgconf_completion()" in completed.stdout, completed.stderr
    assert "_IMGCONF_COMPLETE=bash_source imgconf" in (ROOT / "README.md").read_text()


def test_docs_default_to_the_checkout_only_inside_it(tmp_path: Path, monkeypatch):
    from imgconf.cli.docs import default_base

    monkeypatch.chdir(tmp_path)
    assert default_base() == Path("reports") / "docs"
    monkeypatch.chdir(ROOT / "src")
    assert (Path.cwd() / default_base()).resolve() == ROOT / "docs"


def test_a_taken_port_is_named_and_port_0_suggested(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("emulator", "serve", "--vendor", "altum", "--port", str(port), timeout=60)
    assert result.code == 2, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("imgconf: ")]
    assert f"127.0.0.1:{port}" in line and "--port 0" in line, line


def test_dry_run_is_a_summary_per_vendor_and_exits_2_on_a_missing_credential(cli):
    short = cli("run", "--vendor", "altum", "--vendor", "identifai", "--target", "live", "--dry-run")
    assert short.code == 2, short.output
    assert "missing credentials" in short.stdout and "ALTUM_API_KEY" in short.stdout
    assert short.stderr.strip() == "imgconf: dry run: a required credential is missing (listed above)"
    for field in ("operations:", "tests:", "requests planned:", f"budget: {vendors.get('altum').live_budget}"):
        assert field in short.stdout, field
    assert len(short.stdout.splitlines()) < 30, short.stdout
    env = clean_env(ALTUM_API_KEY="dry-key-123456")
    ready = cli("run", "--vendor", "altum", "--target", "live", "--dry-run", env=env)
    assert ready.code == 0 and "credentials: $ALTUM_API_KEY set" in ready.stdout, ready.output
    assert "dry-key-123456" not in ready.output
    full = cli("run", "--vendor", "altum", "--target", "live", "--dry-run", "-v", env=env)
    assert full.code == 0 and len(full.stdout.splitlines()) > len(ready.stdout.splitlines()) + 20
    assert "examples: " in full.stdout and "operation" in full.stdout


def test_a_bug_in_imgconf_is_its_own_error_in_one_line_not_a_usage_error(monkeypatch, capsys):
    """Exit 4 is imgconf's own error (README); 2 would tell the user the mistake was theirs."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("IMGCONF_DEBUG", raising=False)
    monkeypatch.setattr(cli_module.cli, "main", broken)
    with pytest.raises(SystemExit) as exited:
        cli_module.main(["run"])
    assert exited.value.code == 4
    err = capsys.readouterr().err
    assert err.strip() == "imgconf: internal error: RuntimeError: boom (set IMGCONF_DEBUG=1 for a traceback)"


ENTRY = """
import atexit, os
from pathlib import Path
atexit.register(lambda: Path(os.environ["MARKER"]).write_text("ran"))
from imgconf.cli import entry
entry()
"""


@pytest.mark.parametrize(
    ("args", "code", "said"), [(["--version"], 0, "imgconf, version"), (["run", "--vendor", "x"], 2, "")]
)
def test_the_command_s_process_keeps_its_code_output_and_exit_handlers(tmp_path, args, code, said):
    """`entry` leaves without the interpreter's teardown: the code, every line and the exit handlers remain."""
    marker = tmp_path / "atexit"
    completed = subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        env=clean_env(MARKER=str(marker)),
        timeout=60,
    )
    assert completed.returncode == code, completed.stderr
    assert said in completed.stdout
    assert marker.read_text() == "ran"
    if code:
        assert (
            completed.stderr.strip() == "imgconf: unknown vendor 'x'; known: altum, huawei, identifai, imagerecognize"
        )


@pytest.mark.parametrize(("drift", "code"), [(None, 0), ("altum.output-renamed", 1)])
def test_output_nobody_reads_does_not_change_the_exit_code(tmp_path, drift, code):
    """`imgconf run | head -1`: the reader is gone before the verdict is printed, and the code is still the run's
    (rich's default would exit 1, imgconf's "non-conformant", whatever the run found)."""
    read, write = os.pipe()
    os.close(read)  # every write to stdout now fails with EPIPE
    args = ["run", "--vendor", "altum", "-k", "examples or output", "--out", str(tmp_path / "reports")]
    args += ["--drift", drift] if drift else []
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "imgconf", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            cwd=tmp_path,
            timeout=120,
        )
    finally:
        os.close(write)
    assert completed.returncode == code, completed.stderr
    assert "Traceback" not in completed.stderr
