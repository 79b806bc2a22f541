"""The emulator's one shared image digest: the same answer as hashlib, whatever object it is asked about; and
Huawei's remembered base64 decoding: the same answer as decoding."""

from __future__ import annotations

import base64
import hashlib
import random

from imgconf.emulator import digests
from imgconf.emulator.huawei import answers, tagging
from imgconf.emulator.randomness import content_rng


def test_the_digest_is_sha256_for_the_same_object_equal_bytes_and_other_bytes() -> None:
    data = bytes(range(256)) * 40
    assert digests.sha256(data) == hashlib.sha256(data).digest()
    assert digests.sha256(data) == hashlib.sha256(data).digest()  # remembered for this object
    equal = bytes(bytearray(data))
    assert equal is not data and digests.sha256(equal) == hashlib.sha256(data).digest()
    other = data[:-1] + b"x"
    assert digests.sha256(other) == hashlib.sha256(other).digest()


def test_a_large_body_is_hashed_but_not_kept() -> None:
    large = bytes(digests.KEPT_MAX_BYTES + 1)
    assert digests.sha256(large) == hashlib.sha256(large).digest()
    assert digests._last[0] is not large


def test_content_randomness_draws_what_it_drew_before_the_digest_was_shared() -> None:
    """The answers of the same bytes must not change: the seed is still sha256(salt + bytes)."""
    data = b"\xff\xd8\xff" + bytes(1000)
    for salt in ("", "objects", "huawei.tagging"):
        expected = random.Random(hashlib.sha256(salt.encode() + data).digest()).random()
        assert content_rng(data, salt).random() == expected


def test_huawei_s_base64_memo_answers_what_decoding_answers() -> None:
    data = bytes(range(256)) * 20
    text = base64.b64encode(data).decode()
    first = tagging.decode_base64(text)
    assert first == data
    again = tagging.decode_base64("".join(text))  # an equal text, another object: the very same bytes back
    assert again is first
    chunked = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))  # another text, the same image
    assert tagging.decode_base64(chunked) == data
    assert tagging.decode_base64(text[:-1] + "!") == answers.BAD_PARAMETER
    assert tagging.decode_base64(text[:-1] + "!") == answers.BAD_PARAMETER  # remembered failures fail alike
    assert tagging.decode_base64("") == answers.BAD_PARAMETER
    oversized = "A" * (tagging.MAX_IMAGE_TEXT + 4)
    assert tagging.decode_base64(oversized) == answers.BAD_SIZE
    assert tagging._last_decoded[0] is not oversized  # a large text is decoded, never kept
