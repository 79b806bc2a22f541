"""The served emulator under load it must survive: uploads larger than memory should hold, images that take a
second to decode, and a download that arrives in many chunks.

Memory is measured where it is spent: the peak RSS (VmHWM in /proc) of the `imgconf emulator serve` process,
while the test streams a body it generates on the fly (so the test itself holds one chunk, never the body).
On main a 256 MB video upload raised the server's peak by 256 MB and a 40 MB image upload by about 127 MB.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import clean_env

MB = 1024 * 1024
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    urls: dict[str, str]

    def memory(self, field: str) -> int:
        """VmRSS (now) or VmHWM (the peak so far) of the server process, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")


def _serve() -> Iterator[Served]:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        command = [sys.executable, "-m", "imgconf", "emulator", "serve", "--port", "0", "--ready-file", str(ready)]
        command += ["--fast", "--option", "identifai.rate_limits=false"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                assert process.poll() is None and time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
            server = Served(process, json.loads(ready.read_text()))
            requests.get(server.urls["altum"] + "/warm-up", timeout=10)
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One server for the timing tests."""
    yield from _serve()


@pytest.fixture
def fresh() -> Iterator[Served]:
    """A server of its own for each memory test, so that no earlier test's peak hides this one's."""
    yield from _serve()


def multipart(
    fields: dict[str, str], name: str, filename: str, head: bytes, size: int, boundary: str = "imgconf-streamed"
) -> Iterator[bytes]:
    """A multipart body of `size` bytes of file, made a megabyte at a time as it is sent."""
    for field, value in fields.items():
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'.encode()
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield head
    block = bytes(range(256)) * (MB // 256)
    sent = len(head)
    while sent < size:
        piece = block[: min(MB, size - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def post_streamed(url: str, body: Iterator[bytes], headers: dict[str, str]) -> requests.Response:
    headers = {**headers, "Content-Type": "multipart/form-data; boundary=imgconf-streamed"}
    return requests.post(url, data=body, headers=headers, timeout=120)


MP4_HEAD = (20).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isom"
IDENTIFAI = {"X-Api-Key": "identifai-emulator-partner-key", "Accept": "application/json"}


def test_a_video_upload_is_streamed_to_disk_not_held(fresh: Served) -> None:
    """256 MB of video (the limit is 5 GB) may cost the server a few chunks of memory, not the video."""
    baseline = fresh.memory("VmRSS")
    body = multipart({"frames": "5"}, "video", "clip.mp4", MP4_HEAD, 256 * MB)
    started = time.monotonic()
    answer = post_streamed(fresh.urls["identifai"] + "/api/classification_video", body, IDENTIFAI)
    elapsed = time.monotonic() - started
    grown = fresh.memory("VmHWM") - baseline
    print(f"video 256 MB: {answer.status_code} in {elapsed:.1f} s, peak RSS +{grown} MB over {baseline} MB")
    assert answer.status_code == 200, answer.text[:200]
    assert grown < 48, f"a 256 MB upload raised the server's peak RSS by {grown} MB"


def test_an_image_upload_is_held_once(fresh: Served) -> None:
    """A 40 MB image (the limit is 50 MiB) is held once, not as body + form copy + file read (about 3x on main)."""
    baseline = fresh.memory("VmRSS")
    fields = {"apikey": "imagerecognize-emulator-key", "type": "objects", "max_labels": "5", "min_confidence": "50"}
    body = multipart(fields, "file", "photo.png", b"\x89PNG\r\n\x1a\n", 40 * MB)
    answer = post_streamed(fresh.urls["imagerecognize"] + "/api/v2/", body, {})
    grown = fresh.memory("VmHWM") - baseline
    print(f"image 40 MB: {answer.json()['status']}, peak RSS +{grown} MB over {baseline} MB")
    assert answer.json()["status"] == 412  # a PNG signature over bytes that do not decode
    assert grown < 64, f"a 40 MB image upload raised the server's peak RSS by {grown} MB"


def png(width: int, height: int) -> bytes:
    """A black RGB PNG of the given size: a few hundred KB that decode into width x height x 3 bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(1)
    row = b"\0" * (1 + width * 3)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_a_declared_size_over_the_limit_is_refused_from_the_header(fresh: Served) -> None:
    """9,500 x 9,500 (90.25 MP) is over the 90 MP limit: refused without decoding (no 270 MB of pixels)."""
    baseline = fresh.memory("VmRSS")
    fields = {"apikey": "imagerecognize-emulator-key", "type": "objects", "max_labels": "5", "min_confidence": "50"}
    files = {"file": ("big.png", png(9500, 9500), "image/png")}
    answer = requests.post(fresh.urls["imagerecognize"] + "/api/v2/", data=fields, files=files, timeout=60)
    assert answer.json()["status"] == 412
    assert fresh.memory("VmHWM") - baseline < 100


def test_big_decodes_run_off_the_event_loop_and_other_requests_stay_fast(served: Served) -> None:
    """Six 36-megapixel PNGs decoding at once (about 0.3 s and 110 MB each) while an unrelated request is
    timed: it must not wait for them. On main every decode ran on the event loop and stalled every vendor."""
    image = png(6000, 6000)
    fields = {"apikey": "imagerecognize-emulator-key", "type": "objects", "max_labels": "5", "min_confidence": "50"}
    answers: list[int] = []

    def decode() -> None:
        files = {"file": ("big.png", image, "image/png")}
        answer = requests.post(served.urls["imagerecognize"] + "/api/v2/", data=fields, files=files, timeout=120)
        answers.append(answer.json()["status"])

    workers = [threading.Thread(target=decode) for _ in range(6)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    latencies = []
    while any(worker.is_alive() for worker in workers):
        sent = time.monotonic()
        assert requests.get(served.urls["altum"] + "/elsewhere", timeout=30).status_code == 403
        latencies.append(time.monotonic() - sent)
        time.sleep(0.02)
    decoding = time.monotonic() - started
    for worker in workers:
        worker.join()
    slowest = max(latencies)
    print(f"6 decodes in {decoding:.2f} s; {len(latencies)} unrelated requests, slowest {slowest * 1000:.0f} ms")
    assert answers == [200] * 6
    assert slowest < max(0.3, decoding / 4), f"an unrelated request waited {slowest:.2f} s of {decoding:.2f} s"


class _Chunked(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = MP4_HEAD + b"\0" * (4096 - len(MP4_HEAD))
        for index in range(200 * MB // 4096):
            data = piece if index == 0 else b"\0" * 4096
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_200_mb_video_url_downloads_in_linear_time(served: Served) -> None:
    """200 MB in 4 KB chunks: on main the buffer was rebuilt on every chunk (quadratic; 290 s in the probe)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Chunked)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        answer = requests.post(
            served.urls["identifai"] + "/api/video_fromurl",
            data={"file_url": f"http://127.0.0.1:{httpd.server_address[1]}/clip.mp4"},
            headers=IDENTIFAI,
            timeout=120,
        )
        elapsed = time.monotonic() - started
    finally:
        httpd.shutdown()
        httpd.server_close()
    print(f"200 MB video URL: {answer.status_code} in {elapsed:.1f} s")
    assert answer.status_code == 200, answer.text[:200]
    assert elapsed < 30


def test_an_undeclared_method_gets_the_vendors_json_not_plain_text(served: Served) -> None:
    expected = {
        "altum": ("/labelling/img", 403, {"message": "Missing Authentication Token"}),
        "huawei": ("/v1.0/image/tagging", 404, None),
        "identifai": ("/api/classification", 405, {"error": "Method Not Allowed"}),
        "imagerecognize": ("/api/v2/", 405, {"status": 405, "status_message": "Method Not Allowed", "data": None}),
    }
    for vendor, (path, status, body) in expected.items():
        answer = requests.request("QUERY", served.urls[vendor] + path, timeout=10)
        assert answer.status_code == status, (vendor, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/json"), (vendor, answer.headers)
        if body is not None:
            assert answer.json() == body
        else:
            assert answer.json()["error_code"] == "APIG.0101"
