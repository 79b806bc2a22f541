"""Whole runs side by side: in-process vs over HTTP, smoke vs full, in one invocation.

    python bench/bench_runs.py [--vendor altum] [--reps 3]

Each variant is `imgconf run` in a child process (wall time, as a user sees it); rounds interleave the
variants. Ratios are against the default (in-process, smoke).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def wall(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "imgconf", "run", *args, "--out", out, "--no-history", "-q"],
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vendor", default="altum")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    variants = {
        "in-process, smoke (default)": ["--vendor", args.vendor],
        "emulator over HTTP, smoke": ["--vendor", args.vendor, "--target", "emulator-http"],
        "in-process, full": ["--vendor", args.vendor, "--profile", "full"],
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.reps):
        for name, variant in variants.items():
            samples[name].append(wall(variant))
    base = statistics.median(samples["in-process, smoke (default)"])
    print(f"{args.vendor}: {args.reps} rounds, median wall seconds (min-max), ratio to the default")
    print("| variant | seconds | ratio |\n|---|---:|---:|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} ({min(values):.2f}-{max(values):.2f}) | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
