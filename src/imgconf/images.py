"""Real images, made with Pillow: what the strategies send and what the emulator decodes.

Everything here is a pure function of its arguments, so a seed reproduces the
exact bytes of an image and therefore the emulator's answer to it.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass

# The format plugins of the formats below, and no others: opening or saving any format Pillow has not yet
# registered makes it import all its ~40 plugins (`Image.init`), which every run did on the first bytes a
# contract test sends that are no image: 6 MB in a process of its own, 2 MB of a full run's peak (151 -> 149
# MB, bench/memory_curve.py), for formats no vendor takes.
from PIL import (  # noqa: F401  (imported to register them)
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageDraw,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

# Pillow's save() names; "JPEG" is also what Image.format reports on decode.
ENCODINGS = {"png": "PNG", "jpeg": "JPEG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF"}
MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "bmp": "image/bmp",
    "gif": "image/gif",
    "webp": "image/webp",
    "tiff": "image/tiff",
}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "bmp": "bmp", "gif": "gif", "webp": "webp", "tiff": "tif"}


def render(width: int, height: int, seed: int, fmt: str = "png", quality: int = 85) -> bytes:
    """An image of the given size and format: a gradient with a few shapes, different for every seed."""
    rng = random.Random(seed)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    if height > 1:
        # One column of the gradient, stretched sideways: every row is one colour, so the nearest neighbour gives
        # the very pixels a smoothing resize gave, at a fraction of its cost (a drawn image per contract case).
        steps = [y / (height - 1) for y in range(height)]
        column = bytes(int(a + (b - a) * t) for t in steps for a, b in zip(top, bottom, strict=True))
        image = Image.frombytes("RGB", (1, height), column).resize((width, height), Image.Resampling.NEAREST)
    else:
        image = Image.new("RGB", (width, height), top)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 4)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(1, max(2, width // 2)), y0 + rng.randrange(1, max(2, height // 2))
        draw.rectangle((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    return encode(image, fmt, quality=quality)


def encode(image: Image.Image, fmt: str, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": quality} if fmt in ("jpeg", "webp") else {}
    if fmt == "gif":
        image = image.convert("P")
    image.save(buffer, ENCODINGS[fmt], **options)
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Decoded:
    format: str  # lower-case key of ENCODINGS
    width: int
    height: int


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can fully decode (or exceed the pixel limit)."""


_FORMATS = {value: key for key, value in ENCODINGS.items()} | {"MPO": "jpeg"}
# What `declared_size` and `decode` open: the union of the formats the four vendors name (a JPEG that carries
# a second picture opens as JPEG and reports itself as MPO). Anything else is no image to any of them.
OPENED = tuple(ENCODINGS.values())


MAX_PIXELS = 90_000_000


def declared_size(data: bytes) -> tuple[int, int] | None:
    """The width and height the header declares, read without decoding a pixel (None: not an image)."""
    try:
        with Image.open(io.BytesIO(data), formats=OPENED) as image:
            return image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
        return None


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Decode every byte of an image, so a truncated or corrupt file is refused like a real server refuses it.

    The declared size is checked before a pixel is decoded, so an image over the limit costs only its header.
    A JPEG is decoded in draft mode, at 1/8 scale (libjpeg's DCT scaling): its entropy-coded data is still read
    and Huffman-decoded to the last byte, so a truncated or corrupt file fails exactly as at full size, at a
    quarter of the cost (1.08 vs 4.33 ms for Altum's 1440x960 fixture); other formats have no draft mode.
    """
    if not data:
        raise NotAnImage("empty file")
    try:
        with Image.open(io.BytesIO(data), formats=OPENED) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise NotAnImage(f"{width}x{height} exceeds {max_pixels} pixels")
            fmt = _FORMATS.get(image.format or "", (image.format or "unknown").lower())
            if fmt == "jpeg":
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
            return Decoded(fmt, width, height)
    except NotAnImage:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise NotAnImage(str(exc) or type(exc).__name__) from None


def corrupt(data: bytes, seed: int) -> bytes:
    """A copy with its tail cut off: the header still says 'image', the pixels do not decode."""
    rng = random.Random(seed)
    keep = max(8, len(data) // 2 - rng.randrange(max(1, len(data) // 4)))
    return data[:keep]
