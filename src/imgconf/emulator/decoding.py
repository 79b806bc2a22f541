"""Image decoding off the event loop, with a bound on how many large images decode at once.

Decoding an image near the 90-megapixel limit takes a second or two and about 4 bytes a pixel; done on the
event loop it stalls every vendor the server hosts. So every decode runs in a worker thread: small images
(by the size their header declares, read without decoding a pixel) in the shared thread pool, large ones
in a pool of `LARGE_WORKERS` threads of their own, so that at most that many large decodes hold memory
at once (about 360 MB each at the limit) and a queue of them never delays a small one or any request that
decodes nothing.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from starlette.concurrency import run_in_threadpool

from imgconf import images

LARGE_PIXELS = 4_000_000  # declared pixels above which a decode waits for one of the large workers
LARGE_WORKERS = 2

_large = ThreadPoolExecutor(max_workers=LARGE_WORKERS, thread_name_prefix="imgconf-decode")


async def decode(data: bytes, max_pixels: int = images.MAX_PIXELS) -> images.Decoded:
    """images.decode in a worker thread; NotAnImage as images.decode raises it."""
    declared = images.declared_size(data)
    if declared is not None and declared[0] * declared[1] > LARGE_PIXELS:
        return await asyncio.get_running_loop().run_in_executor(_large, images.decode, data, max_pixels)
    return await run_in_threadpool(images.decode, data, max_pixels)
