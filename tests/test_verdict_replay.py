"""One run, one verdict, recorded and shown: a cassette replays to the verdict it recorded, vendor by vendor,
a cassette that does not parse is a usage error, progress shows on a terminal only (continued from
test_verdict.py; a file of its own so that xdist, `--dist loadfile`, runs these beside the others).
"""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import clean_env, served

KEY = "SENTINEL-verdict-key-4f2a61"
LIVE = clean_env(ALTUM_API_KEY=KEY)


def test_a_cassette_that_does_not_parse_is_a_usage_error(cli, tmp_path):
    cassette = tmp_path / "broken.yaml"
    cassette.write_text("interactions: [{{{")
    result = cli("run", "--replay", str(cassette))
    assert result.code == 2 and "not a VCR.py cassette" in result.stderr and "Traceback" not in result.output


def test_a_recorded_outage_replays_to_the_recorded_verdict(cli):
    serve = ("--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--option", "altum.outage=true")
    with served(*serve) as urls:
        recorded = cli("run", "--vendor", "altum", "--target", urls["altum"], "--record", "-q", env=LIVE)
    assert recorded.code == 3
    replayed = cli("run", "--replay", str(recorded.report_dir() / "cassette.yaml"), "-q", env=clean_env())
    assert replayed.code == 3, replayed.output
    assert replayed.report()["kind"] == "replay"
    assert [v["state"] for v in replayed.report()["vendors"]] == [v["state"] for v in recorded.report()["vendors"]]


def test_a_recorded_run_of_two_vendors_replays_to_the_recorded_verdict_vendor_by_vendor(cli):
    huawei = "huawei:ak=HWREPLAYAK0000000001,sk=replay-secret-key-0000000001"
    env = clean_env(ALTUM_API_KEY=KEY, HUAWEI_AK="HWREPLAYAK0000000001", HUAWEI_SK="replay-secret-key-0000000001")
    serve = ("--vendor", "altum", "--vendor", "huawei", "--credential", f"altum:api_key={KEY}", "--credential", huawei)
    with served(*serve, "--drift", "altum.output-renamed") as urls:
        target = f"altum={urls['altum']},huawei={urls['huawei']}"
        recorded = cli("run", "--vendor", "altum", "--vendor", "huawei", "--target", target, "--record", env=env)
    assert recorded.code == 1, recorded.output
    replayed = cli("run", "--replay", str(recorded.report_dir() / "cassette.yaml"), env=clean_env())
    assert replayed.code == recorded.code, replayed.output
    states = [(v["id"], v["state"]) for v in recorded.report()["vendors"]]
    assert [(v["id"], v["state"]) for v in replayed.report()["vendors"]] == states
    assert dict(states) == {"altum": "non-conformant", "huawei": "conformant"}
    fingerprints = [sorted(f["fingerprint"] for f in run.report()["findings"]) for run in (recorded, replayed)]
    assert fingerprints[0] == fingerprints[1]


def test_progress_is_reported_per_vendor_and_silent_without_a_terminal(cli):
    result = cli("run", "--vendor", "altum")
    assert result.code == 0
    assert result.stderr == ""  # no progress bars in a log
    with_tty = subprocess.run(
        ["script", "-qec", f"{sys.executable} -m imgconf run --vendor altum --no-history --out reports", "/dev/null"],
        capture_output=True,
        text=True,
        cwd=result.out.parent,
        env=clean_env(COLUMNS="120"),
        timeout=120,
    )
    assert with_tty.returncode == 0, with_tty.stdout
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", with_tty.stdout)
    frames = [line for line in screen.replace("\r", "\n").splitlines() if re.search(r"\d+ requests? ·", line)]
    assert frames, with_tty.stdout[-2000:]
    done = [int(line.split("/")[0].split()[-1]) for line in frames if "/" in line]
    assert done and max(done) > min(done)
