"""A request body made chunk by chunk as it is sent: a head, one unit repeated, a tail.

For the probes of a size limit that is not a multipart upload (wire/multipart.StreamedForm is that one):
Huawei's 10 MB base64 image and its 12 MB gateway limit are JSON bodies whose bulk is one repeated unit.
Held whole, such a body cost the run its peak memory (the bytes, then a copy joined for the JSON). It has a
length, so requests sends it with a Content-Length (and a gateway can refuse it by that alone), and it is
iterable afresh, so a retried or re-signed request reads the same bytes again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StreamedBody:
    head: bytes
    unit: bytes  # repeated `count` times between head and tail
    count: int
    tail: bytes

    def __len__(self) -> int:
        return len(self.head) + len(self.unit) * self.count + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        per_chunk = max(1, CHUNK // max(1, len(self.unit)))
        block = self.unit * min(per_chunk, self.count)
        left = self.count
        while left > 0:
            units = min(per_chunk, left)
            yield block if units == per_chunk else self.unit * units
            left -= units
        yield self.tail
