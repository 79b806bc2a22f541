"""Per-request cost of imgconf's guarded transport, side by side with plain requests, in one run; and the least
that sending and checking one contract case can cost with the libraries the design names.

    python bench/bench_transport.py [--calls 300] [--reps 5]

Every variant uploads the same small PNG to Altum's /labelling/img (a small image, so the transport and not
the decoder dominates): plain `requests` over HTTP, the guarded session over HTTP (budget, host guard,
recording), the guarded session with replay keys (what --record adds), and the guarded session in-process
(`targets/asgi.InThreadASGIAdapter`, what in-process runs use). Then the floors: the same in-process session
to a Starlette app that answers at once (requests, the guard, the event loop and Starlette's routing, with no
emulator behind them), and schemathesis' response checks (`contract.RESPONSE_CHECKS`, as `Case.validate_response`
runs them) on one valid answer. Ratios are against plain requests; medians of `--reps` rounds, variants
interleaved so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
import requests.adapters
import schemathesis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import served
from imgconf import images
from imgconf.emulator import altum
from imgconf.emulator.config import EmulatorConfig
from imgconf.targets.asgi import InThreadASGIAdapter
from imgconf.testing import contract
from imgconf.wire.budget import Budget
from imgconf.wire.guard import Guard, guarded_session
from imgconf.wire.recorder import Recorder

KEY = "altum-emulator-key"
PNG = images.render(16, 16, seed=1, fmt="png")
IN_PROCESS = "http://altum.emulator/labelling/img"


def upload(session: requests.Session, url: str) -> requests.Response:
    return session.post(url, files={"image": ("p.png", PNG, "image/png")}, headers={"x-api-key": KEY}, timeout=10)


def timed(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def in_process(app: object) -> requests.Session:
    guard = Guard("altum", Recorder(), Budget({}), allowed_hosts=frozenset({"altum.emulator"}))
    return guarded_session(InThreadASGIAdapter(app), guard)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    emulator = altum.create_app(EmulatorConfig())
    answer = upload(in_process(emulator), IN_PROCESS)
    assert answer.status_code == 200, answer.text
    canned = answer.content

    async def at_once(request: Request) -> Response:
        await request.body()
        return Response(canned, 200, media_type="application/json")

    nothing = Starlette(routes=[Route("/labelling/img", at_once, methods=["POST"])])
    schema = contract.from_spec("altum-labelling.yaml", schemathesis.Config.from_dict(contract.DEFAULTS))
    case = schema["/labelling/img"]["POST"].Case()

    def checked() -> None:
        case.validate_response(answer, checks=contract.RESPONSE_CHECKS)

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
        emulated, floor = in_process(emulator), in_process(nothing)
        variants: dict[str, Callable[[], object]] = {
            "plain requests, HTTP": lambda: upload(plain, http_url),
            "guarded session, HTTP": lambda: upload(guarded, http_url),
            "guarded + replay keys, HTTP": lambda: upload(keyed, http_url),
            "guarded session, in-process (the emulator)": lambda: upload(emulated, IN_PROCESS),
            "floor: guarded, in-process, an app that answers at once": lambda: upload(floor, IN_PROCESS),
            "floor: schemathesis' response checks on one answer": checked,
        }
        for call in variants.values():
            timed(call, 20)  # warm-up
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.reps):
            for name, call in variants.items():
                samples[name].append(timed(call, args.calls))
    base = statistics.median(samples["plain requests, HTTP"])
    print(f"{args.calls} calls x {args.reps} rounds, median µs per call (min-max), ratio to plain requests")
    print("| variant | µs/call | ratio |\n|---|---:|---:|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} ({min(values):,.0f}-{max(values):,.0f}) | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
