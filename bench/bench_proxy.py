"""What `imgconf proxy` adds to a call, side by side with the direct call, in one run.

    python bench/bench_proxy.py [--calls 300] [--reps 5]

`imgconf emulator serve --vendor altum --fast` and `imgconf proxy --vendor altum` run as real processes
(the proxy checking every exchange, as in production); one keep-alive `requests` session uploads the
same small PNG to /labelling/img directly, through the proxy as a reverse proxy, and through it as an
HTTP forward proxy (`HTTP_PROXY`, the Huawei recipe). Rounds are interleaved so machine noise hits every
variant alike; per variant, the p50 and p90 of every call of every round, the ratio to the direct p50, and
the p50 difference in ms, which the proxy's goal holds to 1 ms on loopback.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import clean_env, served
from imgconf import images
from proxy_support import proxy_cli

KEY = "altum-emulator-key"
PNG = images.render(16, 16, seed=1, fmt="png")


def timed(session: requests.Session, url: str, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        response = session.post(
            url, files={"image": ("p.png", PNG, "image/png")}, headers={"x-api-key": KEY}, timeout=10
        )
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return samples


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with served("--vendor", "altum", "--fast", env=clean_env()) as urls, tempfile.TemporaryDirectory() as tmp:
        upstream = urls["altum"]
        with proxy_cli("altum", upstream, Path(tmp), "--no-history") as proxy:
            direct = requests.Session()
            reverse = requests.Session()
            forward = requests.Session()
            forward.proxies = {"http": proxy.url}
            variants = {
                "direct to the emulator": (direct, upstream),
                "through imgconf proxy (reverse)": (reverse, proxy.url),
                "through imgconf proxy (HTTP_PROXY)": (forward, upstream),
            }
            for session, base in variants.values():  # warm up connections and the checker's imports
                timed(session, base + "/labelling/img", 20)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.reps):
                for name, (session, base) in variants.items():
                    samples[name] += timed(session, base + "/labelling/img", args.calls)
            proxy.stop()
    base_p50 = statistics.median(samples["direct to the emulator"])
    print(f"{args.calls} calls x {args.reps} rounds, ms per call, loopback")
    print(f"| {'variant':<36} | {'p50':>6} | {'p90':>6} | {'ratio':>6} | {'p50 added':>9} |")
    for name, values in samples.items():
        p50 = statistics.median(values)
        print(
            f"| {name:<36} | {p50:6.3f} | {percentile(values, 0.9):6.3f} | {p50 / base_p50:5.2f}x "
            f"| {p50 - base_p50:+8.3f} |"
        )


if __name__ == "__main__":
    main()
