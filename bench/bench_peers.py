"""imgconf beside its peers, every figure of issue 12's table, in one command.

    python bench/bench_peers.py            # 3 rounds, 10 s per wrk sample
    python bench/bench_peers.py --quick    # 1 round, 3 s per wrk sample, smaller runs: a smoke check of the bench

What runs, rounds interleaved (A B C ... A B C ...) so machine noise hits every variant alike:

- runs: after one unmeasured round of every variant (st's first run in a folder fills ./.hypothesis),
  raw `st run` (the pinned schemathesis; `--generation-database none`, and its default database) and
  `imgconf run --profile full` on the same spec, each against the emulator served over HTTP
  (`imgconf emulator serve --fast` for `st run`, `--target emulator-http` for imgconf, the same server code),
  and imgconf in-process; cases/s over the whole process and inside the tests (st's `running_time`,
  imgconf's `duration_s`). A case is one request sent (imgconf's report counts requests; st counts
  generated cases, one request each with its default checks minus `ignored_auth`'s re-sends).
- walls: `imgconf run` smoke and full, all vendors, in-process, as run by default (`--workers auto`: one
  process per core on this machine's 2 cores) and in one process (`--workers 1`); peak RSS of the full run,
  as the largest single process (wait4's ru_maxrss) and as all of the run's processes together (their RSS
  summed, and their PSS, in which a page the forked workers share with their parent counts once; sampled
  every 50 ms from /proc).
- gen: contract cases/s (each case generated, sent to the in-process emulator and checked) ÷ generation only
  (the same cases drawn, never sent), per vendor. Both are one `imgconf run -k test_contract` (every vendor's
  suites/<vendor>/test_contract.py: the schemathesis tests and, for identifAI, its stateful workflow, which is
  not counted) with bench/contract_cases.py loaded into its pytest (`PYTEST_PLUGINS`): it wraps
  `ApiClient.call_and_validate`, counts every case that reaches it and, in the generation-only variant, returns
  at once instead of sending. So schema, configuration, strategies (image media types, hooks, auth provider),
  seed and examples are the run's own, and cases are counted the same way in both (cases drawn; each sent case
  is one request: `ignored_auth`, the one check that re-sends, is off, and the report's request count of those
  tests is printed beside). Time is pytest's call phase of the schemathesis tests (Hypothesis' loop, no fixture
  setup), summed per vendor; the figure is cases per wall second. The detail gives the sending run's own split,
  its time outside `call_and_validate` over its whole time: the same ratio if generating costs what it costs
  alone, but measured in one process at one moment, so load that comes and goes between the two runs (on a
  shared machine it moves the two-run figure by +-50%) does not move it. The two variants must draw the same
  number of cases, or the bench stops.
- req/s: `imgconf emulator serve` beside Prism's `mock` (bench/prism/, pinned by its package-lock.json,
  default logging, to a file) on the same spec and the same valid request, with `wrk -t1 -c16`.

Ratios are printed as median (min-max) over the rounds. Absolute numbers only mean something on the
machine they were taken on; the ratios are what bench/README.md records.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from imgconf import images
from imgconf.emulator import altum as altum_emulator
from imgconf.emulator import huawei as huawei_emulator
from imgconf.emulator import imagerecognize as imagerecognize_emulator
from imgconf.testing import profiles
from imgconf.vendors.huawei.auth import token_request

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
PRISM_DIR = Path(__file__).resolve().parent / "prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"

ALTUM_KEY = altum_emulator.DEFAULT_CREDENTIALS[0]["api_key"]
HUAWEI = huawei_emulator.DEFAULT_CREDENTIALS[0]
IR_KEY = imagerecognize_emulator.DEFAULT_CREDENTIALS[0]["apikey"]

# `st run` knows a vendor's credentials only as fixed headers; Huawei's are signatures or an IAM token.
ST_SPECS = {"altum": ("altum-labelling.yaml", {"headers": {"x-api-key": ALTUM_KEY}})}


# -- helpers -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def summary(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def ratios(top: list[float], bottom: list[float]) -> list[float]:
    """Per-round ratios (rounds are interleaved, so round i of each variant ran side by side)."""
    return [a / b for a, b in zip(top, bottom, strict=True) if b]


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """The resident set of `root` and every process below it, in KiB (Linux /proc): RSS summed, and PSS summed
    (each page shared between them, as a fork's untouched pages are, counted once in all)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
        found = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
        rss[int(entry.name)] = int(found.group(1)) if found else 0
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    pss = 0
    for pid in tree:
        try:
            found = re.search(r"^Pss:\s+(\d+)", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.MULTILINE)
        except OSError:
            continue
        pss += int(found.group(1)) if found else 0
    return sum(rss.get(pid, 0) for pid in tree), pss


def run_child(
    command: list[str], cwd: Path | None = None, tree: bool = False
) -> tuple[int, float, int, str, tuple[int, int]]:
    """(exit code, wall seconds, peak RSS of its largest process in MB, output, peak RSS and PSS of its whole
    process tree in MB, sampled every 50 ms when `tree`, else zeros) of one child process."""
    started = time.perf_counter()
    peak_tree = peak_pss = 0
    with tempfile.TemporaryFile() as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd)
        pid, status, usage = os.wait4(process.pid, os.WNOHANG if tree else 0)
        while pid == 0:  # still running (`tree` only): sample, then look again
            rss_kb, pss_kb = _tree_memory_kb(process.pid)
            peak_tree, peak_pss = max(peak_tree, rss_kb), max(peak_pss, pss_kb)
            time.sleep(0.05)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        sink.seek(0)
        output = sink.read().decode(errors="replace")
    return process.returncode, elapsed, usage.ru_maxrss // 1024, output, (peak_tree // 1024, peak_pss // 1024)


@contextmanager
def served_emulator(vendors: list[str]) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        command = [sys.executable, "-m", "imgconf", "emulator", "serve", "--port", "0", "--fast"]
        command += [arg for vendor in vendors for arg in ("--vendor", vendor)] + ["--ready-file", str(ready)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("imgconf emulator serve did not start")
                time.sleep(0.05)
            yield json.loads(ready.read_text())
        finally:
            process.terminate()
            process.wait(10)


@contextmanager
def served_prism(spec: str, log: Path) -> Iterator[str]:
    port = free_port()
    command = [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPECS / spec)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"prism did not start on {spec}: {log.read_text()[-500:]}") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def ensure_prism() -> None:
    if PRISM.exists():
        return
    print("installing the pinned Prism into bench/prism/ (npm ci) ...", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PRISM_DIR, check=True)


# -- the four operations for wrk ----------------------------------------------------------------------


class Operation:
    """One valid request, as wrk sends it: method, path, headers, body (bytes), the status it must get."""

    def __init__(self, name: str, spec: str, vendor: str, method: str, path: str, headers: dict[str, str], body: bytes):
        self.name, self.spec, self.vendor = name, spec, vendor
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def lua(self, directory: Path) -> Path:
        slug = re.sub(r"\W", "_", self.name)
        body_file = directory / f"{slug}.body"
        body_file.write_bytes(self.body)
        lines = [f'wrk.method = "{self.method}"']
        lines += [f'wrk.headers["{key}"] = "{value}"' for key, value in self.headers.items()]
        if self.body:
            lines.append(f'local f = io.open("{body_file}", "rb"); wrk.body = f:read("*all"); f:close()')
        lines.append('wrk.path = "' + self.path + '"')
        lines.append("local bad = 0")
        lines.append("function response(status, headers, body) if status >= 300 then bad = bad + 1 end end")
        script = directory / f"{slug}.lua"
        script.write_text("\n".join(lines) + "\n")
        return script


def operations(emulator_urls: dict[str, str]) -> list[Operation]:
    jpeg = images.render(320, 240, seed=7, fmt="jpeg")
    boundary = "imgconfbench0123456789"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    # A token for the emulator's Huawei (Prism checks only that the header is there).
    body = token_request(HUAWEI["iam_user"], HUAWEI["iam_password"], HUAWEI["iam_domain"], "cn-north-4")
    issued = requests.post(emulator_urls["huawei"] + "/v3/auth/tokens", json=body, timeout=10)
    token = issued.headers["X-Subject-Token"]
    # imagerecognize's cache holds the key's latest analysis: one analysis first, so GET cache answers 200.
    primed = requests.post(
        emulator_urls["imagerecognize"] + "/api/v2/",
        data={"apikey": IR_KEY, "type": "objects", "max_labels": "5", "min_confidence": "50"},
        files={"file": ("photo.jpg", jpeg, "image/jpeg")},
        timeout=10,
    )
    if primed.status_code != 200:
        raise SystemExit(f"priming imagerecognize's cache failed: {primed.status_code} {primed.text[:200]}")
    huawei_body = json.dumps({"image": base64.b64encode(jpeg).decode(), "limit": 5, "threshold": 30}).encode()
    return [
        Operation(
            "Altum /labelling/url",
            "altum-labelling.yaml",
            "altum",
            "POST",
            "/labelling/url",
            {"x-api-key": ALTUM_KEY, "Content-Type": "application/json"},
            json.dumps({"url": altum_emulator.DOCUMENTED_EXAMPLE_URL}).encode(),
        ),
        Operation(
            "Altum /labelling/img",
            "altum-labelling.yaml",
            "altum",
            "POST",
            "/labelling/img",
            {"x-api-key": ALTUM_KEY, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            multipart,
        ),
        Operation(
            "Huawei v2 tagging",
            "huawei-image-tagging.yaml",
            "huawei",
            "POST",
            f"/v2/{HUAWEI['project_id']}/image/tagging",
            {"X-Auth-Token": token, "Content-Type": "application/json"},
            huawei_body,
        ),
        Operation(
            "imagerecognize GET cache",
            "imagerecognize.yaml",
            "imagerecognize",
            "GET",
            f"/api/v2/?apikey={IR_KEY}&type=cache",
            {},
            b"",
        ),
    ]


def check(operation: Operation, base: str) -> int:
    answer = requests.request(
        operation.method, base + operation.path, headers=operation.headers, data=operation.body or None, timeout=10
    )
    return answer.status_code


def wrk(operation: Operation, base: str, seconds: int, directory: Path) -> tuple[float, str]:
    script = operation.lua(directory)
    done = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(script), base], capture_output=True, text=True, check=True
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    return (float(rate.group(1)) if rate else 0.0), (non2xx.group(1) if non2xx else "0")


def bench_wrk(rounds: int, seconds: int) -> list[str]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    ensure_prism()
    lines = []
    with tempfile.TemporaryDirectory() as tmp, served_emulator(["altum", "huawei", "imagerecognize"]) as urls:
        directory = Path(tmp)
        ops = operations(urls)
        for spec in sorted({op.spec for op in ops}):
            spec_ops = [op for op in ops if op.spec == spec]
            with served_prism(spec, directory / f"prism-{spec}.log") as prism:
                for op in spec_ops:
                    statuses = (check(op, urls[op.vendor]), check(op, prism))
                    emulator_rates: list[float] = []
                    prism_rates: list[float] = []
                    bad: list[str] = []
                    for _ in range(rounds):
                        rate, non2xx = wrk(op, urls[op.vendor], seconds, directory)
                        emulator_rates.append(rate)
                        bad.append(f"emulator {non2xx}")
                        rate, non2xx = wrk(op, prism, seconds, directory)
                        prism_rates.append(rate)
                        bad.append(f"prism {non2xx}")
                    lines.append(
                        f"| emulator req/s ÷ Prism, {op.name} | {summary(ratios(emulator_rates, prism_rates))}x "
                        f"| >= 4x | emulator {summary(emulator_rates, 0)} req/s, Prism {summary(prism_rates, 0)}; "
                        f"status emulator {statuses[0]} / Prism {statuses[1]}; non-2xx {', '.join(sorted(set(bad)))} |"
                    )
                    print(lines[-1], flush=True)
    return lines


# -- whole runs ----------------------------------------------------------------------------------------


def st_run(spec: str, config: dict[str, Any], base: str, examples: int, database: str | None, work: Path):
    """Raw `st run`: (cases, wall seconds, running_time seconds)."""
    work.mkdir(parents=True, exist_ok=True)
    toml = work / "schemathesis.toml"
    toml.write_text("[headers]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in config["headers"].items()))
    reports = work / "reports"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(toml), "run", str(SPECS / spec)]
    command += ["--url", base, "--max-examples", str(examples), "--seed", "0", "--workers", "1"]
    command += ["--continue-on-failure", "--report", "json", "--report-dir", str(reports)]
    if database:
        command += ["--generation-database", database]
    _, wall, _, output, _ = run_child(command, cwd=work)
    found = sorted(reports.glob("*.json"))
    if not found:
        raise SystemExit(f"st run wrote no report: {output[-500:]}")
    data = json.loads(found[-1].read_text())
    shutil.rmtree(reports)
    return int(data["test_cases"]["generated"]), wall, float(data["running_time"])


def imgconf_run(args: list[str], work: Path, tree: bool = False) -> tuple[int, float, float, int, tuple[int, int]]:
    """`imgconf run`: (requests, wall seconds, duration_s inside the run, peak RSS MB of its largest process,
    peak RSS and PSS MB of all its processes together, or zeros unless `tree`)."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "reports"
    command = [sys.executable, "-m", "imgconf", "run", *args, "--out", str(out), "--no-history", "-q"]
    code, wall, rss, output, total = run_child(command, cwd=work, tree=tree)
    if code != 0:
        raise SystemExit(f"imgconf run {' '.join(args)}: exit {code}\n{output[-800:]}")
    report = json.loads((out / (out / "LATEST").read_text().strip() / "report.json").read_text())
    shutil.rmtree(out)
    return int(report["requests"]), wall, float(report["duration_s"]), rss, total


def bench_runs(rounds: int, profile: str) -> list[str]:
    examples = profiles.get(profile).max_examples
    lines = []
    with tempfile.TemporaryDirectory() as tmp, served_emulator(["altum"]) as urls:
        work = Path(tmp)
        spec, config = ST_SPECS["altum"]
        samples: dict[str, list[tuple[float, float]]] = {}
        variants: dict[str, Callable[[], tuple[int, float, float]]] = {
            "st none": lambda: st_run(spec, config, urls["altum"], examples, "none", work / "st-none"),
            "st default": lambda: st_run(spec, config, urls["altum"], examples, None, work / "st-default"),
            "imgconf http": lambda: imgconf_run(
                ["--vendor", "altum", "--profile", profile, "--target", "emulator-http"], work / "ic-http"
            )[:3],
            "imgconf in-process": lambda: imgconf_run(["--vendor", "altum", "--profile", profile], work / "ic")[:3],
        }
        # One unmeasured round first: `st run` fills its Hypothesis caches (./.hypothesis) on its first run in a
        # folder, which cost its first round ~40% of its rate; imgconf keeps them in the user cache. Every
        # measured round is a warm one, as a user's second run is.
        for variant in variants.values():
            variant()
        for _ in range(rounds):
            for name, variant in variants.items():
                cases, wall, seconds_inside = variant()
                samples.setdefault(name, []).append((cases / wall, cases / seconds_inside))
        whole = {name: [item[0] for item in values] for name, values in samples.items()}
        inside = {name: [item[1] for item in values] for name, values in samples.items()}
        for name in ("imgconf http", "imgconf in-process"):
            lines.append(
                f"| `imgconf run --vendor altum --profile {profile}` ({name.split()[1]}) cases/s ÷ `st run "
                f"--generation-database none`, whole process | {summary(ratios(whole[name], whole['st none']))}x "
                f"| >= 1.5x | imgconf {summary(whole[name], 1)}, st {summary(whole['st none'], 1)} cases/s |"
            )
            lines.append(
                f"| the same ({name.split()[1]}), inside the tests only | "
                f"{summary(ratios(inside[name], inside['st none']))}x | >= 1.5x | "
                f"imgconf {summary(inside[name], 1)}, st {summary(inside['st none'], 1)} cases/s |"
            )
        lines.append(
            f"| `st run` default database ÷ `--generation-database none`, whole process | "
            f"{summary(ratios(whole['st default'], whole['st none']))}x | (reference) | |"
        )
        for line in lines:
            print(line, flush=True)
    return lines


WALL_VARIANTS = {"default (auto)": [], "--workers 1": ["--workers", "1"]}


def bench_walls(rounds: int, quick: bool) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        smoke: dict[str, list[float]] = {name: [] for name in WALL_VARIANTS}
        full: dict[str, list[float]] = {name: [] for name in WALL_VARIANTS}
        largest: dict[str, list[float]] = {name: [] for name in WALL_VARIANTS}
        together: dict[str, list[float]] = {name: [] for name in WALL_VARIANTS}
        proportional: dict[str, list[float]] = {name: [] for name in WALL_VARIANTS}
        for _ in range(rounds):
            for name, extra in WALL_VARIANTS.items():
                smoke[name].append(imgconf_run(["--profile", "smoke", *extra], work)[1])
                if not quick:
                    _, wall, _, peak, total = imgconf_run(["--profile", "full", *extra], work, tree=True)
                    full[name].append(wall)
                    largest[name].append(peak)
                    together[name].append(total[0])
                    proportional[name].append(total[1])
        for name in WALL_VARIANTS:
            lines.append(f"| `imgconf run` smoke, all vendors, wall, {name} | {summary(smoke[name])} s | <= 8 s | |")
        for name in WALL_VARIANTS if not quick else ():
            lines.append(
                f"| `imgconf run --profile full`, all vendors, wall, {name} | {summary(full[name])} s | <= 40 s | |"
            )
        for name in WALL_VARIANTS if not quick else ():
            lines.append(
                f"| peak RSS of a full run, {name}: all its processes together | {summary(together[name], 0)} MB "
                f"| <= 150 MB | largest single process {summary(largest[name], 0)} MB; all together as PSS (a "
                f"page shared between them counted once) {summary(proportional[name], 0)} MB |"
            )
        for line in lines:
            print(line, flush=True)
    return lines


GEN_VENDORS = ("altum", "identifai", "imagerecognize", "huawei")


def contract_run(mode: str, profile: str, work: Path) -> dict[str, tuple[int, float, int, float]]:
    """`imgconf run -k test_contract` with bench/contract_cases.py: {vendor: (cases, s, requests, s sending)}."""
    work.mkdir(parents=True, exist_ok=True)
    out, totals = work / "reports", work / f"contract-{mode}.json"
    command = [sys.executable, "-m", "imgconf", "run", "-k", "test_contract", "--profile", profile]
    command += [arg for vendor in GEN_VENDORS for arg in ("--vendor", vendor)]
    # One process: the plugin's totals go to one file (and the figure is per vendor either way).
    command += ["--workers", "1", "--out", str(out), "--no-history", "-q"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")])
        ),
        "PYTEST_PLUGINS": "contract_cases",
        "IMGCONF_BENCH_CONTRACT": mode,
        "IMGCONF_BENCH_CONTRACT_OUT": str(totals),
    }
    with tempfile.TemporaryFile() as sink:
        code = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, cwd=work, env=env).returncode
        sink.seek(0)
        output = sink.read().decode(errors="replace")
    # Sent: conformant. Generation only: nothing was checked, so the run is incomplete (3), never non-conformant.
    if code != (0 if mode == "send" else 3) or not totals.exists():
        raise SystemExit(f"imgconf run -k test_contract ({mode}): exit {code}\n{output[-800:]}")
    data = json.loads(totals.read_text())
    report = json.loads((out / (out / "LATEST").read_text().strip() / "report.json").read_text())
    shutil.rmtree(out)
    # The requests come from the report, each of its tests once (a nodeid can repeat there: keying them by
    # nodeid counted some twice and dropped others).
    timed = {nodeid for nodeid, *_ in data["per_test"]}
    sent: dict[str, int] = {}
    for test in report["tests"]:
        if test["nodeid"] in timed:
            vendor = test["nodeid"].split("/", 1)[0]
            sent[vendor] = sent.get(vendor, 0) + int(test["requests"])
    result: dict[str, tuple[int, float, int, float]] = {}
    for nodeid, cases, seconds, _cpu, inside in data["per_test"]:
        vendor = nodeid.split("/", 1)[0]
        total_cases, total_seconds, _, total_inside = result.get(vendor, (0, 0.0, 0, 0.0))
        result[vendor] = (total_cases + cases, total_seconds + seconds, sent.get(vendor, 0), total_inside + inside)
    return result


def bench_gen(rounds: int, profile: str) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        samples: dict[str, dict[str, list[tuple[int, float, int, float]]]] = {"send": {}, "skip": {}}
        for _ in range(rounds):
            for mode in ("send", "skip"):
                for vendor, sample in contract_run(mode, profile, work / mode).items():
                    samples[mode].setdefault(vendor, []).append(sample)
        for vendor in GEN_VENDORS:
            sent, drawn = samples["send"].get(vendor, []), samples["skip"].get(vendor, [])
            if not sent or not drawn:
                continue
            if {s[0] for s in sent} != {d[0] for d in drawn} or len({s[0] for s in sent}) != 1:
                raise SystemExit(f"{vendor}: cases differ: sent {[s[0] for s in sent]}, drawn {[d[0] for d in drawn]}")
            send_rate = [cases / seconds for cases, seconds, *_ in sent]
            gen_rate = [cases / seconds for cases, seconds, *_ in drawn]
            # The sending run's own split: its generating time over its whole time (one process, one moment).
            split = [(seconds - inside) / seconds for _, seconds, _, inside in sent]
            lines.append(
                f"| contract cases/s ÷ generation only, {vendor} ({profile}) | {summary(ratios(send_rate, gen_rate))}x "
                f"| >= 0.9x | sent+checked {summary(send_rate, 1)}, generated only {summary(gen_rate, 1)} cases/s; "
                f"{sent[0][0]} cases, {sent[0][2]} requests; "
                f"the sending run's own split (generating ÷ all) {summary(split)}x |"
            )
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 round, 3 s wrk samples, smoke-sized runs")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=None, help="seconds per wrk sample")
    parser.add_argument("--only", choices=("wrk", "runs", "walls", "gen"), action="append", help="some sections only")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (3 if args.quick else 10)
    sections = args.only or ["runs", "walls", "gen", "wrk"]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"bench_peers {started}, {rounds} rounds{' (quick)' if args.quick else ''}, {os.cpu_count()} CPUs")
    print("| figure | median (min-max) | goal | detail |\n|---|---|---|---|", flush=True)
    lines: list[str] = []
    if "runs" in sections:
        lines += bench_runs(rounds, "smoke" if args.quick else "full")
    if "walls" in sections:
        lines += bench_walls(rounds, args.quick)
    if "gen" in sections:
        lines += bench_gen(rounds, "smoke" if args.quick else "full")
    if "wrk" in sections:
        lines += bench_wrk(rounds, seconds)


if __name__ == "__main__":
    main()
