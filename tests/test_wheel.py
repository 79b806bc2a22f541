"""imgconf as a user installs it: the built wheel, in a fresh venv, run from an empty folder outside any checkout.

Kept fast: the wheel goes in with `--no-deps` into a venv made without pip, and the dependencies already
installed here are made visible to it by a `.pth` *line* naming this environment's site-packages. A `.pth`
line adds a directory to sys.path without processing that directory's own `.pth` files, so this checkout's
editable-install finder stays out, and the imgconf imported is the wheel's (asserted below).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from conftest import ROOT, clean_env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel built from this checkout (sdist first, then the wheel from it, as `build` does).

    With the build backend the dev extra installs (`--no-isolation`), not one fetched into a throwaway venv
    per step: the tests run offline, and the build takes ~3 s instead of ~9 s. The files are the same.
    """
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = dist.glob("imgconf-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    target_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(target_site) / "outer-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def _run(env_dir: Path, cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(**extra)
    env.pop("PYTHONPATH", None)
    # Bytecode is written as CI writes it, so that the run shows it keeps it out of site-packages.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["XDG_CONFIG_HOME"] = str(cwd / "xdg")
    env["XDG_CACHE_HOME"] = str(cwd / "cache")
    return subprocess.run(
        [str(env_dir / "bin" / "imgconf"), *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


def test_the_wheel_carries_specs_schemas_suites_and_runs_outside_any_checkout(installed: Path, tmp_path: Path):
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import imgconf, imgconf.paths as p; print(imgconf.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in clean_env().items() if k != "PYTHONPATH"},
    )
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr

    data = next(installed.glob("lib/python*/site-packages/imgconf/_data"))
    before = {path: path.stat().st_mtime_ns for path in data.rglob("*")}
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run(installed, empty, "run", "--vendor", "altum")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conformant" in result.stdout and "report: reports/" in result.stdout
    assert (empty / "reports" / "LATEST").is_file()
    # Nothing is written beside the installed suites (site-packages may be read-only).
    assert {path: path.stat().st_mtime_ns for path in data.rglob("*")} == before

    config = _run(installed, empty, "config")
    assert config.returncode == 0, config.stderr
    assert "specs" in config.stdout and str(data / "specs") in config.stdout


def test_a_working_tree_overrides_the_packaged_specs(installed: Path, tmp_path: Path):
    tree = tmp_path / "tree"
    for folder in ("specs", "schemas"):
        shutil.copytree(ROOT / folder, tree / folder)
    spec = tree / "specs" / "altum-labelling.yaml"
    spec.write_text(spec.read_text().replace("openapi: 3.1.0", "openapi: 3.1.0\nwebhooks: 12", 1))
    result = _run(installed, tmp_path, "run", "--vendor", "altum", "--specs", str(tree / "specs"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "altum-labelling.yaml" in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == ["tree"] or "reports" not in os.listdir(tmp_path)
