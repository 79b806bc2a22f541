"""imgconf.testing.draws: a vendor's cases are its seed's, whatever else the run holds.

In a checkout, Hypothesis read constants from imgconf's own sources as modules were imported, so identifAI's
contract cases differed between a run beside Huawei alone and one beside every vendor.
"""

from __future__ import annotations

from conftest import ROOT, clean_env, imgconf
from imgconf import vendors as registry


def _identifai_cases(tmp_path, name: str, vendors: list[str]) -> list[str]:
    target = tmp_path / f"{name}.txt"
    out = tmp_path / name
    out.mkdir()
    # A fresh interpreter, not the tests' warm fork server: which modules are imported when is the point.
    env = clean_env(
        IMGCONF_TEST_FRESH="1",
        PYTEST_PLUGINS="case_prints",
        IMGCONF_TEST_CASE_PRINTS=str(target),
        PYTHONPATH=str(ROOT / "tests"),
    )
    chosen = [arg for vendor in vendors for arg in ("--vendor", vendor)]
    args = ["run", *chosen, "--profile", "smoke", "--workers", "1", "-k", "test_contract", "--no-history"]
    result = imgconf(*args, out=out, env=env)
    assert result.code == 0, result.output
    return [line for line in target.read_text().splitlines() if "identifai-emulator" in line]


def test_a_vendors_cases_do_not_depend_on_the_vendors_beside_it(tmp_path):
    """identifAI alone (the fewest modules imported) against beside every vendor (the most). Without
    draws.install() they differ (2026-12-07), as beside Huawei alone did: that run is spared."""
    alone = _identifai_cases(tmp_path, "alone", ["identifai"])
    beside_all = _identifai_cases(tmp_path, "all", sorted(registry.all_vendors()))
    assert len(alone) > 100
    assert alone == beside_all
