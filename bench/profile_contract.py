"""Where a contract case's time goes once it is drawn: the profile behind bench_peers' `gen` figure.

    python bench/profile_contract.py [--vendor V ...] [--rate 250]

Runs `imgconf run -k test_contract --profile full --workers 1` (in-process, every vendor by default) under
py-spy (a sampling profiler: the run is not slowed by instrumentation), then splits the contract tests'
samples into drawing the case and `ApiClient.call_and_validate` (sending it and checking the answer), and
the latter by who spends it: each sample goes to the innermost frame that belongs to a known owner
(requests, schemathesis, Starlette, asyncio, Pillow, or imgconf's own emulator, checks and transport).

The last line is the most `contract ÷ generation only` could be if imgconf's own code in the send path cost
nothing: drawing ÷ (drawing + what the libraries the design names spend on sending and checking).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Owners, checked innermost frame first; the first owner whose path fragment a frame's file contains wins.
OWNERS: list[tuple[str, tuple[str, ...], bool]] = [
    # (owner, path fragments, is it imgconf's own code)
    ("imgconf: vendor checks", ("imgconf/checks.py", "imgconf/vendors/"), True),
    ("imgconf: emulator", ("imgconf/emulator/",), True),
    ("imgconf: in-process transport, guard, recorder", ("imgconf/targets/", "imgconf/wire/"), True),
    ("Pillow", ("PIL/",), False),
    ("Starlette", ("starlette/",), False),
    ("jsonschema, jsonschema-rs", ("jsonschema",), False),
    ("schemathesis (call, serialise, response checks)", ("schemathesis/",), False),
    ("asyncio, anyio", ("asyncio/", "anyio/"), False),
    ("requests, urllib3, http", ("requests/", "urllib3/", "http/"), False),
]


def owner(frame: str) -> tuple[str, bool] | None:
    location = frame.rpartition("(")[2]
    for name, fragments, own in OWNERS:
        if any(fragment in location for fragment in fragments):
            return name, own
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vendor", action="append", dest="vendors", help="repeatable; default: every vendor")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        command = [sys.executable, "-m", "imgconf", "run", "-k", "test_contract", "--profile", "full"]
        command += ["--workers", "1", "--out", str(Path(tmp) / "reports"), "--no-history", "-q"]
        command += [arg for vendor in args.vendors or [] for arg in ("--vendor", vendor)]
        spy = ["py-spy", "record", "-r", str(args.rate), "-f", "raw", "-o", str(raw), "--", *command]
        done = subprocess.run(spy, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if done.returncode != 0 or not raw.exists():
            raise SystemExit(f"py-spy failed (pip install py-spy): {done.stderr.strip()[-500:]}")
        total, sending = 0, 0
        spent: collections.Counter[tuple[str, bool]] = collections.Counter()
        for line in raw.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            # A schemathesis test: Hypothesis' loop over the cases schemathesis builds (not the stateful test).
            if not any("schemathesis/generation/hypothesis/builder.py" in frame for frame in frames):
                continue
            samples = int(count)
            total += samples
            inside = [index for index, frame in enumerate(frames) if frame.startswith("ApiClient.call_and_validate")]
            if not inside:
                continue
            sending += samples
            found = next(filter(None, (owner(frame) for frame in reversed(frames[inside[0] + 1 :]))), None)
            spent[found or ("other", True)] += samples
    if not total:
        raise SystemExit("no contract test was sampled")
    print(
        f"contract tests: {total} samples; drawing {100 * (total - sending) / total:.1f}%, "
        f"sending and checking {100 * sending / total:.1f}%"
    )
    print("| sending and checking, by owner | share of the contract tests' time |\n|---|---:|")
    for (name, _own), samples in spent.most_common():
        print(f"| {name} | {100 * samples / total:.1f}% |")
    libraries = sum(samples for (_, own), samples in spent.items() if not own)
    drawing = total - sending
    print(
        f"with imgconf's own code in the send path free: contract ÷ generation only <= "
        f"{drawing / (drawing + libraries):.2f}x"
    )


if __name__ == "__main__":
    main()
