"""Live mode, with the emulator served on loopback as if it were identifAI, its rate limits on.

The run is exactly a live run pointed elsewhere (a URL target): credentials from the environment, the
transport's Pacer keeping Vendor.rate_limits, mutations skipped. The emulator logs every arrival; the test
proves from that log that no window of the documented limits ever held more requests than allowed, and that
no request was answered 429, and that the run is conformant.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import clean_env, served

# GET 2 per second and 60 per minute, POST 1 per second and 30 per minute (per key).
LIMITS = {"GET": ((2, 1.0), (60, 60.0)), "POST": ((1, 1.0), (30, 60.0))}
SENTINEL_KEY = "identifai-live-sentinel-key-0f3a9c"
# The run's clock and the emulator's see one request a few milliseconds apart; a window is counted that much
# shorter, so a request is never blamed for the jitter of loopback.
JITTER_S = 0.02


def busiest(times: list[float], seconds: float) -> int:
    """The most requests any window of `seconds` holds."""
    return max((sum(1 for other in times if start <= other < start + seconds - JITTER_S) for start in times), default=0)


def test_a_live_run_keeps_the_documented_rates_and_is_conformant(cli, tmp_path: Path) -> None:
    log = tmp_path / "arrivals.jsonl"
    with served(
        "--vendor",
        "identifai",
        "--credential",
        f"identifai:api_key={SENTINEL_KEY}",
        "--option",
        f"identifai.request_log={log}",
        # A vendor that finishes at the first poll: fewer reads, the same contract.
        "--option",
        "identifai.polls_until_done=0",
    ) as urls:
        result = cli(
            "run",
            "--vendor",
            "identifai",
            "--target",
            f"identifai={urls['identifai']}",
            "--budget",
            "150",
            "-q",
            env=clean_env(IDENTIFAI_API_KEY=SENTINEL_KEY),
            timeout=400,
        )
    assert result.code == 0, result.output
    report = result.report()
    assert report["state"] == "conformant" and report["findings"] == []
    assert report["target"]["kind"] == "url"

    arrivals = [json.loads(line) for line in log.read_text().splitlines()]
    ours = [arrival for arrival in arrivals if arrival["role"] == "api_key"]
    assert len(ours) >= 40, f"only {len(ours)} requests reached the emulator"
    assert not [arrival for arrival in arrivals if arrival["status"] == 429], "the run was throttled"
    for method, windows in LIMITS.items():
        times = sorted(arrival["t"] for arrival in ours if arrival["method"] == method)
        for allowed, seconds in windows:
            assert busiest(times, seconds) <= allowed, f"more than {allowed} {method} in {seconds:g} s"
    for artifact in report_files(result.report_dir()):
        assert SENTINEL_KEY not in artifact.read_text(errors="replace"), f"the key is in {artifact.name}"


def report_files(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.suffix in (".json", ".xml", ".md", ".html")]
