"""Per-request cost of imgconf's guarded transport, side by side with plain requests, in one run.

    python bench/bench_transport.py [--calls 300] [--reps 5]

Every variant uploads the same small PNG to the Altum emulator's /labelling/img (a small image, so the
transport and not the decoder dominates): plain `requests` over HTTP,
the guarded session over HTTP (budget, host guard, recording), the guarded session with replay keys
(what --record adds), and the guarded session in-process over ASGI. Ratios are against plain requests;
medians of `--reps` rounds, variants interleaved so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests
import requests.adapters

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import served
from imgconf import images
from imgconf.emulator import altum
from imgconf.emulator.config import EmulatorConfig
from imgconf.wire.budget import Budget
from imgconf.wire.guard import Guard, guarded_session
from imgconf.wire.recorder import Recorder

KEY = "altum-emulator-key"
PNG = images.render(16, 16, seed=1, fmt="png")


def timed(session: requests.Session, url: str, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        response = session.post(
            url, files={"image": ("p.png", PNG, "image/png")}, headers={"x-api-key": KEY}, timeout=10
        )
        assert response.status_code == 200, response.text
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    from schemathesis.python import asgi

    with served("--vendor", "altum", "--fast") as urls:
        http_url = urls["altum"] + "/labelling/img"
        host = http_url.split("/")[2]
        plain = requests.Session()
        guarded = guarded_session(
            requests.adapters.HTTPAdapter(), Guard("altum", Recorder(), Budget({}), allowed_hosts=frozenset({host}))
        )
        keyed = guarded_session(
            requests.adapters.HTTPAdapter(),
            Guard("altum", Recorder(), Budget({}), allowed_hosts=frozenset({host}), keyed=True),
        )
        app = altum.create_app(EmulatorConfig())
        in_process = guarded_session(
            asgi.get_client(app).adapter,
            Guard("altum", Recorder(), Budget({}), allowed_hosts=frozenset({"altum.emulator"})),
        )
        variants = {
            "plain requests, HTTP": (plain, http_url),
            "guarded session, HTTP": (guarded, http_url),
            "guarded + replay keys, HTTP": (keyed, http_url),
            "guarded session, in-process ASGI": (in_process, "http://altum.emulator/labelling/img"),
        }
        for session, url in variants.values():
            timed(session, url, 20)  # warm-up
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.reps):
            for name, (session, url) in variants.items():
                samples[name].append(timed(session, url, args.calls))
    base = statistics.median(samples["plain requests, HTTP"])
    print(f"{args.calls} calls x {args.reps} rounds, median µs per call (min-max), ratio to plain requests")
    print("| variant | µs/call | ratio |\n|---|---:|---:|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} ({min(values):,.0f}-{max(values):,.0f}) | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
