"""A run leaves no `.hypothesis/` in the directory it starts in: hypothesis' caches go to imgconf's user cache."""

from __future__ import annotations

from conftest import clean_env


def test_a_run_keeps_hypothesis_caches_in_the_user_cache_not_the_working_directory(cli, tmp_path):
    cache = tmp_path / "cache"
    env = clean_env(XDG_CACHE_HOME=str(cache))
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)  # the default is what is tested here
    result = cli("run", "--vendor", "altum", "-k", "test_contract", env=env)
    assert result.code == 0, result.output
    assert not (tmp_path / ".hypothesis").exists(), sorted(path.name for path in tmp_path.iterdir())
    assert (cache / "imgconf" / "hypothesis" / "unicode_data").is_dir()


def test_hypothesis_storage_directory_still_says_where(cli, tmp_path):
    chosen = tmp_path / "chosen"
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), HYPOTHESIS_STORAGE_DIRECTORY=str(chosen))
    result = cli("run", "--vendor", "altum", "-k", "test_contract", env=env)
    assert result.code == 0, result.output
    assert (chosen / "unicode_data").is_dir() and not (tmp_path / "cache" / "imgconf").exists()
