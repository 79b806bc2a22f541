"""What kind of file a body is, read from its bytes, as Laravel's `mimes` rule reads it (through finfo).

identifAI names formats and MIME types per endpoint; the emulator decides by
magic numbers, never by the file name or the part's Content-Type
(x-assumption identifai-file-type). Images are also fully decoded, later, by
the analysis: a file that claims PNG but does not decode is accepted here and
ends `errored`, as a real pipeline would end it.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

# What each endpoint family takes (the reference pages' format lists).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff"})
AUDIO_TYPES = frozenset(
    {"audio/mpeg", "audio/wav", "audio/ogg", "audio/flac", "audio/aac", "audio/3gp", "audio/m4a", "video/mp4"}
)

MB = 1024 * 1024
IMAGE_LIMIT = 50 * MB
AUDIO_LIMIT = 50 * MB
VIDEO_LIMIT = 5 * 1024 * MB

_FTYP_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"M4R ")
_FTYP_3GP = (b"3gp", b"3g2")
_FTYP_QUICKTIME = (b"qt  ",)


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes announce, or None when they announce nothing this API knows."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF2):
        return "audio/mpeg"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_AUDIO_BRANDS:
            return "audio/m4a"
        if brand.startswith(_FTYP_3GP):
            return "video/3gpp"
        if brand in _FTYP_QUICKTIME:
            return "video/quicktime"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"FLV"):
        return "video/x-flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video/mpeg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video/x-ms-asf"
    return None


def accepts(kind: str, mime: str | None) -> bool:
    """Whether an endpoint family takes a file of this type."""
    if mime is None:
        return False
    if kind == "image":
        return mime in IMAGE_TYPES
    if kind == "audio":
        return mime in AUDIO_TYPES or mime == "video/3gpp"
    return mime.startswith("video/")


def limit_for(kind: str) -> int:
    return {"image": IMAGE_LIMIT, "audio": AUDIO_LIMIT}.get(kind, VIDEO_LIMIT)


@dataclass(frozen=True)
class Clip:
    """What the analysis needs to know about a speech clip: its length in seconds, when it can be read."""

    seconds: float | None


def clip_info(data: bytes) -> Clip:
    """The length of a WAV clip (other formats: unknown; the emulator does not decode compressed audio)."""
    try:
        with wave.open(io.BytesIO(data)) as clip:
            return Clip(clip.getnframes() / float(clip.getframerate() or 1))
    except (wave.Error, EOFError, ValueError):
        return Clip(None)


def stub_mp4(seed: int) -> bytes:
    """A small ISO-BMFF file (ftyp + mdat): what the emulator serves for its public sample video URL."""
    payload = bytes((seed * 31 + index) % 251 for index in range(2048))
    ftyp = b"ftyp" + b"isom" + b"\x00\x00\x02\x00" + b"isomiso2avc1mp41"
    mdat = b"mdat" + payload
    return (4 + len(ftyp)).to_bytes(4, "big") + ftyp + (4 + len(mdat)).to_bytes(4, "big") + mdat


def stub_mp3(seed: int) -> bytes:
    """A small MPEG audio file (an ID3 tag and frame headers): the emulator's public sample speech."""
    frame = b"\xff\xfb\x90\x64" + bytes((seed + index) % 256 for index in range(413))
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + frame * 8
