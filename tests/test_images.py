"""imgconf.images.render: the suites' drawn images, pixel for pixel what a plain drawing of them gives.

The same seed must give the same bytes from one version to the next (a run's images, the emulator's answers
derived from their digests, a reproducer's file): the fast path is held here to the plain one it replaced.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest
from PIL import Image, ImageDraw

from imgconf import images


def plainly_rendered(width: int, height: int, seed: int, fmt: str) -> bytes:
    """The gradient drawn pixel by pixel and stretched with Pillow's default resize, the shapes on top."""
    rng = random.Random(seed)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", (width, height))
    if height > 1:
        column = Image.new("RGB", (1, height))
        for y in range(height):
            t = y / (height - 1)
            column.putpixel((0, y), tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
        image = column.resize((width, height))
    else:
        image.paste(top, (0, 0, width, height))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 4)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(1, max(2, width // 2)), y0 + rng.randrange(1, max(2, height // 2))
        draw.rectangle((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    return images.encode(image, fmt)


@pytest.mark.parametrize("fmt", sorted(images.ENCODINGS))
def test_a_rendered_image_is_the_plainly_drawn_one(fmt):
    sizes = (1, 2, 3, 96, 257)
    for width in sizes:
        for height in sizes:
            for seed in (0, 7):
                assert images.render(width, height, seed, fmt) == plainly_rendered(width, height, seed, fmt), (
                    width,
                    height,
                    seed,
                )


def test_a_format_no_vendor_takes_is_no_image() -> None:
    """The six formats open; one Pillow reads but no vendor names (an icon) is refused like any other bytes."""
    for fmt in images.ENCODINGS:
        assert images.decode(images.render(24, 16, 3, fmt)).format == fmt
    icon = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(icon, "ICO")
    with pytest.raises(images.NotAnImage):
        images.decode(icon.getvalue())
    assert images.declared_size(icon.getvalue()) is None


# A process's Pillow plugins after it has drawn and decoded every format and been sent bytes that are no image.
PLUGINS = """
import sys
from imgconf import images
for fmt in images.ENCODINGS:
    images.decode(images.render(24, 16, 3, fmt))
for junk in (b"%PDF-1.7\\n", b"\\x00" * 64, b"GIF87a"):
    assert images.declared_size(junk) is None
print(" ".join(sorted(name for name in sys.modules if name.endswith("ImagePlugin"))))
"""


def test_only_the_vendors_formats_are_imported() -> None:
    """Pillow imports all its ~40 plugins (6 MB of a run) the first time it is asked for a format it has not
    registered, as opening bytes that are no image used to ask: a process of its own, where no other test
    has loaded them."""
    done = subprocess.run([sys.executable, "-c", PLUGINS], capture_output=True, text=True, check=True, timeout=60)
    loaded = {name.removeprefix("PIL.").removesuffix("ImagePlugin").upper() for name in done.stdout.split()}
    assert loaded == set(images.OPENED) | {"PPM"}  # Pillow's own five, which it loads before any other, and ours
