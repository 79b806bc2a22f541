"""Image decoding off the event loop, with a bound on how many large images decode at once.

Decoding an image near the 90-megapixel limit takes a second or two and about 4 bytes a pixel; done on the
event loop it stalls every vendor the server hosts. So every decode runs in a worker thread: small images
(by the size their header declares, read without decoding a pixel) in the shared thread pool, large ones
in a pool of `LARGE_WORKERS` threads of their own, so that at most that many large decodes hold memory
at once (about 360 MB each at the limit) and a queue of them never delays a small one or any request that
decodes nothing.

What a decode found (format and size, or why the bytes are not an image) is kept for the last
`CACHE_ENTRIES` images of at most `CACHE_MAX_BYTES`, keyed on the SHA-256 of the bytes and the pixel
limit: nothing else (not the vendor, the drift, the request or its order) can change the answer, and the
same bytes sent again (a fixture URL, a documented example, wrk) are answered on the event loop, with no
thread hop and no decode.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from starlette.concurrency import run_in_threadpool

from imgconf import images
from imgconf.emulator import digests

LARGE_PIXELS = 4_000_000  # declared pixels above which a decode waits for one of the large workers
LARGE_WORKERS = 2

CACHE_ENTRIES = 256
CACHE_MAX_BYTES = 2 * 1024 * 1024  # larger bodies are hashed no faster than decoded, and are rarely sent twice

_large = ThreadPoolExecutor(max_workers=LARGE_WORKERS, thread_name_prefix="imgconf-decode")

_found: OrderedDict[tuple[bytes, int], images.Decoded | str] = OrderedDict()
_lock = threading.Lock()


def _remember(key: tuple[bytes, int], value: images.Decoded | str) -> None:
    with _lock:
        _found[key] = value
        _found.move_to_end(key)
        while len(_found) > CACHE_ENTRIES:
            _found.popitem(last=False)


def _recall(key: tuple[bytes, int]) -> images.Decoded | str | None:
    with _lock:
        value = _found.get(key)
        if value is not None:
            _found.move_to_end(key)
        return value


def _decode_and_remember(data: bytes, max_pixels: int, key: tuple[bytes, int] | None) -> images.Decoded:
    try:
        decoded = images.decode(data, max_pixels)
    except images.NotAnImage as exc:
        if key is not None:
            _remember(key, str(exc))
        raise
    if key is not None:
        _remember(key, decoded)
    return decoded


async def decode(data: bytes, max_pixels: int = images.MAX_PIXELS) -> images.Decoded:
    """images.decode in a worker thread (or its remembered answer); NotAnImage as images.decode raises it."""
    key = (digests.sha256(data), max_pixels) if len(data) <= CACHE_MAX_BYTES else None
    if key is not None:
        known = _recall(key)
        if isinstance(known, str):
            raise images.NotAnImage(known)
        if known is not None:
            return known
    declared = images.declared_size(data)
    if declared is not None and declared[0] * declared[1] > LARGE_PIXELS:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_large, _decode_and_remember, data, max_pixels, key)
    return await run_in_threadpool(_decode_and_remember, data, max_pixels, key)
