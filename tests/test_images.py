"""imgconf.images.render: the suites' drawn images, pixel for pixel what a plain drawing of them gives.

The same seed must give the same bytes from one version to the next (a run's images, the emulator's answers
derived from their digests, a reproducer's file): the fast path is held here to the plain one it replaced.
"""

from __future__ import annotations

import random

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
