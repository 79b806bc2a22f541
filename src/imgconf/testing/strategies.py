"""Hypothesis strategies for real images, composed from small parts.

Schemathesis fills a binary multipart field with text under OpenAPI 3.1, and
a faithful API refuses text; these strategies make decodable images of
chosen formats and sizes (edge dimensions included), and files that only
look like images, so both the accepting and the refusing paths are tested.
"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from imgconf import images

EDGE_SIDES = (1, 2, 3, 255, 256, 257)


def sides(max_side: int = 96) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([side for side in EDGE_SIDES if side <= max_side]), st.integers(1, max_side))


def image_bytes(formats: tuple[str, ...] = ("png", "jpeg"), max_side: int = 96) -> st.SearchStrategy[bytes]:
    """Decodable images of the given formats; each example is a different picture."""
    return st.builds(
        images.render,
        width=sides(max_side),
        height=sides(max_side),
        seed=st.integers(0, 2**32 - 1),
        fmt=st.sampled_from(formats),
    )


def unsupported_images(formats: tuple[str, ...] = ("bmp", "gif", "webp", "tiff")) -> st.SearchStrategy[bytes]:
    """Real images in formats the API does not take."""
    return image_bytes(formats, max_side=48)


def broken_images(formats: tuple[str, ...] = ("png", "jpeg")) -> st.SearchStrategy[bytes]:
    """Files with an image header whose pixels do not decode."""
    return st.builds(
        images.corrupt, image_bytes(formats, max_side=48).filter(lambda data: len(data) > 64), st.integers(0, 1000)
    )


def not_images() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.just(b""),
        st.binary(min_size=1, max_size=256),
        st.text(min_size=1, max_size=64).map(str.encode),
        st.sampled_from([b"%PDF-1.7\n", b"GIF87a", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0"]),
    )


def invalid_uploads(supported: tuple[str, ...] = ("png", "jpeg")) -> st.SearchStrategy[bytes]:
    """Everything an image endpoint must refuse: other formats, broken files, non-images."""
    others = tuple(fmt for fmt in ("bmp", "gif", "webp", "tiff") if fmt not in supported)
    return st.one_of(unsupported_images(others), broken_images(supported), not_images())


@lru_cache(maxsize=8)
def corpus(size: int, formats: tuple[str, ...] = ("jpeg", "png"), seed: int = 0) -> tuple[tuple[str, bytes, str], ...]:
    """A fixed set of distinct images (name, bytes, format): the same every run, so sweeps are reproducible.

    Made once per process for each size (the suites sweep it in several tests: rendered anew, it cost ~18 ms a
    call at 64 images); a tuple, so no caller can change what the next one gets.
    """
    items = []
    for index in range(size):
        fmt = formats[index % len(formats)]
        width = EDGE_SIDES[index % len(EDGE_SIDES)] if index % 3 == 0 else 8 + (index * 37) % 120
        height = 8 + (index * 53) % 90
        items.append(
            (f"{fmt}-{width}x{height}-{index}", images.render(width, height, seed * 1_000_003 + index, fmt), fmt)
        )
    return tuple(items)
