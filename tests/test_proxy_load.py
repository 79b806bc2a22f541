"""200 applications uploading 5 MB at once through `imgconf proxy`: streamed, never held whole.

The uploads are generated as they are sent (a 64 KiB block repeated, behind a multipart head), the
upstream reads and discards them, and the proxy's peak resident memory (VmHWM, from /proc) stays under
RSS_BOUND: its own footprint idle plus far less than the 1 GB that passes through it. Every upload is
also checked (its image part kept as a digest), so the bound covers the checking path too.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from imgconf.proxy.relay import Upstream
from proxy_support import proxy_cli

CLIENTS = 200
UPLOAD = 5 * 1024 * 1024
BLOCK = os.urandom(64 * 1024)
# Measured on the 2-core box: the relay ~80 MB idle, ~140 MB at this test's peak; the checking process
# (forked, checking every upload) ~70 MB. 1 GB passes through: holding a tenth of it would break the bound.
RSS_BOUND_MB = 200

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for VmHWM")


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise AssertionError(field)


class Sink:
    """An upstream that reads each request's body to its end, keeps nothing, and answers a small 200."""

    REPLY = b'{"Output":{"Image_Class":"indoor","ConfidencePercent_Image_Class":"90.00"}}'

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.received = 0
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = self.loop.run_until_complete(asyncio.start_server(self._one, sock=sock))
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-le")
                )
                while length:
                    chunk = await reader.read(min(length, 256 * 1024))
                    length -= len(chunk)
                    self.received += len(chunk)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(self.REPLY)).encode()
                    + b"\r\n\r\n"
                    + self.REPLY
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def _upload(port: int, index: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head_part = (
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    tail = b"\r\n--b--\r\n"
    length = len(head_part) + UPLOAD + len(tail)
    writer.write(
        f"POST /labelling/img HTTP/1.1\r\nHost: x\r\nx-api-key: load-{index}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n".encode()
        + head_part
    )
    for _ in range(UPLOAD // len(BLOCK)):
        writer.write(BLOCK)
        await writer.drain()
    writer.write(tail)
    await writer.drain()
    answer = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return int(answer.split(b" ", 2)[1])


async def _all(port: int) -> list[int]:
    return await asyncio.gather(*(_upload(port, index) for index in range(CLIENTS)))


def test_200_concurrent_5mb_uploads_keep_the_proxy_under_its_memory_bound(tmp_path):
    sink = Sink()
    with proxy_cli("altum", sink.url, tmp_path, "--no-history") as proxy:
        idle = _status(proxy.process.pid, "VmRSS")
        statuses = asyncio.run(_all(Upstream.parse(proxy.url).port))
        peak = _status(proxy.process.pid, "VmHWM")
        children = Path(f"/proc/{proxy.process.pid}/task/{proxy.process.pid}/children").read_text().split()
        checker = max(_status(int(child), "VmHWM") for child in children)  # the checking process
        assert proxy.stop() == 0
    assert statuses == [200] * CLIENTS
    assert sink.received == CLIENTS * (UPLOAD + 99 + 9)  # every byte arrived
    print(f"proxy RSS: idle {idle} MB, peak {peak} MB (checker process {checker} MB), {CLIENTS} x 5 MB uploads")
    assert peak < RSS_BOUND_MB, f"peak RSS {peak} MB (idle {idle} MB)"
    assert checker < RSS_BOUND_MB, f"the checking process peaked at {checker} MB"
    report = json.loads((proxy.out / (proxy.out / "LATEST").read_text().strip() / "report.json").read_text())
    assert report["requests"] == CLIENTS  # every upload was checked, none dropped
