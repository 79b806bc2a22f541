"""Deterministic answers: every score is drawn from the file's SHA-256, so the same bytes always get the same
result (x-assumption identifai-deterministic), whatever the order of requests.

The shapes are those of the newer reference pages; the numbers are coherent with
each other the way the documented examples are: a model's two scores sum to 1,
each heuristic aggregates the model scores its name describes, the main verdict
is the user's heuristic, a video verdict counts the frames that voted for it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imgconf import images

HEURISTICS = (
    "Majority",
    "Average",
    "AverageExclude10",
    "AverageExclude20",
    "AverageExclude30",
    "TopRelevant",
    "AverageExcludeObsolete",
)
DEFAULT_HEURISTIC = "AverageExcludeObsolete"
IMAGE_MODELS = ("V011", "V01", "brokenwand2")
FRAME_MODELS = ("V01", "Revelio III", "Revelio IV", "Ardē")
AUDIO_MODELS = ("Phantom",)
OBSOLETE_MODELS = frozenset({"V011"})
API_VERSION = "1.1.0"


@dataclass(frozen=True)
class Options:
    """The analysis options of a submission: what makes two submissions of the same file the same one."""

    with_morphing: bool = False
    with_tampering: bool = False
    with_heatmap: bool = False
    with_nsfw: bool = False
    prevent_c2pa_forces: bool = False
    frames: int = 5
    key_frames: bool = False
    key_frames_method: str = "iframes"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model(rng: random.Random, name: str, lean: float, details: bool = False) -> dict[str, Any]:
    artificial = min(0.999, max(0.001, lean + rng.gauss(0.0, 0.18)))
    pairs = [("artificial", artificial), ("human", 1.0 - artificial)]
    pairs.sort(key=lambda pair: pair[1], reverse=True)
    result: dict[str, Any] = {
        "model": name,
        "unknown": False,
        "elapsed_time": round(rng.uniform(0.05, 2.5), 6),
        "classification": [{"label": label, "score": round(score, 6)} for label, score in pairs],
        "classification_details": {"confidence": round(rng.uniform(0.5, 1.0), 4)} if details else {},
    }
    return result


def artificial_score(result: dict[str, Any]) -> float:
    return next(item["score"] for item in result["classification"] if item["label"] == "artificial")


def _average(scores: Sequence[float]) -> float:
    return sum(scores) / len(scores)


def _verdict(heuristic: str, artificial: float, models: list[str], confidence: float | None = None) -> dict[str, Any]:
    label = "artificial" if artificial >= 0.5 else "human"
    value = confidence if confidence is not None else (artificial if label == "artificial" else 1.0 - artificial)
    return {"heuristic": heuristic, "confidence": round(value, 6), "classification": label, "models": models}


def verdicts(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every heuristic's verdict over the model results, in the order the examples list them."""
    models = [result["model"] for result in results]
    scores = {result["model"]: artificial_score(result) for result in results}
    values = list(scores.values())
    out = []
    votes = sum(1 for value in values if value >= 0.5)
    majority = votes * 2 >= len(values)
    winners = [value if majority else 1.0 - value for value in values if (value >= 0.5) == majority]
    out.append(_verdict("Majority", 1.0 if majority else 0.0, models, confidence=_average(winners) if winners else 0.5))
    out.append(_verdict("Average", _average(values), models))
    for margin, name in ((0.1, "AverageExclude10"), (0.2, "AverageExclude20"), (0.3, "AverageExclude30")):
        kept = [value for value in values if abs(value - 0.5) >= margin] or values
        out.append(_verdict(name, _average(kept), models))
    top = max(values, key=lambda value: abs(value - 0.5))
    out.append(_verdict("TopRelevant", top, models, confidence=round(max(top, 1.0 - top), 2)))
    current = [scores[name] for name in models if name not in OBSOLETE_MODELS] or values
    out.append(_verdict("AverageExcludeObsolete", _average(current), models))
    return out


def main_verdict(all_verdicts: list[dict[str, Any]], heuristic: str = DEFAULT_HEURISTIC) -> dict[str, Any]:
    return dict(next(item for item in all_verdicts if item["heuristic"] == heuristic))


def _rng(digest_hex: str, salt: str = "") -> random.Random:
    """Randomness that is a function of the file's hash (and of a salt naming the part being drawn)."""
    return random.Random(f"{digest_hex}:{salt}")


def image_result(digest_hex: str, options: Options, width: int, height: int) -> dict[str, Any]:
    """The analysis of one decoded image: results, verdicts, details (with morphing), is_nsfw (with with_nsfw)."""
    rng = _rng(digest_hex, "image")
    lean = rng.random()
    results = [_model(rng, name, lean) for name in IMAGE_MODELS]
    if options.with_tampering:
        results.append(_model(rng, "tampering", lean))
    if options.with_morphing:
        results.append(_model(rng, "morphing", lean, details=True))
    all_verdicts = verdicts(results)
    body: dict[str, Any] = {
        "c2pa": None,
        "has_heatmap": options.with_heatmap,
        "verdict": main_verdict(all_verdicts),
        "verdicts": all_verdicts,
        "results": results,
        "details": [],
    }
    if options.with_morphing:
        body["details"] = [{"detections": [_detection(rng, width, height, lean)]}]
    if options.with_nsfw:
        body["is_nsfw"] = rng.random() < 0.1
    return body


def _detection(rng: random.Random, width: int, height: int, lean: float) -> dict[str, Any]:
    """One face-like region inside the image, in pixels (x-assumption identifai-box-units)."""
    x1, x2 = sorted(rng.randint(0, max(0, width - 1)) for _ in range(2))
    y1, y2 = sorted(rng.randint(0, max(0, height - 1)) for _ in range(2))
    result = _model(rng, "morphing", lean, details=True)
    verdict = _verdict("Average", artificial_score(result), ["morphing"])
    verdict.pop("models")
    return {"box": {"x1": x1, "x2": x2, "y1": y1, "y2": y2}, "results": [result], "verdict": verdict}


def video_result(digest_hex: str, options: Options) -> dict[str, Any]:
    """One image result per analysed frame (at most `frames`; fewer with key frames) and a counting verdict."""
    rng = _rng(digest_hex, "video")
    lean = rng.random()
    count = rng.randint(1, options.frames) if options.key_frames else options.frames
    models = [*FRAME_MODELS, *(["morphing"] if options.with_morphing else [])]
    if options.with_tampering:
        models.append("tampering")
    frames: list[dict[str, Any]] = []
    for index in range(count):
        frame_rng = _rng(digest_hex, f"frame:{index}")
        results = [_model(frame_rng, name, lean) for name in models]
        frame_verdicts = verdicts(results)
        frames.append(
            {
                "hash": hashlib.sha256(f"{digest_hex}:frame:{index}".encode()).hexdigest(),
                "name": f"frame_{index + 1:04d}.jpg",
                "c2pa": None,
                "has_heatmap": False,
                "verdict": main_verdict(frame_verdicts),
                "verdicts": frame_verdicts,
                "results": results,
                "details": [],
            }
        )
    video_verdicts = []
    for heuristic in HEURISTICS:
        labels = [next(v for v in frame["verdicts"] if v["heuristic"] == heuristic) for frame in frames]
        artificial = sum(1 for verdict in labels if verdict["classification"] == "artificial")
        label = "artificial" if artificial * 2 >= len(labels) else "human"
        voted = artificial if label == "artificial" else len(labels) - artificial
        video_verdicts.append(
            {
                "heuristic": heuristic,
                "confidence": round(voted / len(labels), 6),
                "classification": label,
                "count": voted,
                "models": models,
                "unknown": False,
            }
        )
    return {
        "verdict": main_verdict(video_verdicts),
        "verdicts": video_verdicts,
        "results": {"images": frames, "audios": []},
    }


def audio_result(digest_hex: str, seconds: float | None) -> dict[str, Any]:
    """Model results for the clip and for each 10-second chunk of it (chunk_details)."""
    rng = _rng(digest_hex, "audio")
    lean = rng.random()
    results = [_model(rng, name, lean, details=True) for name in AUDIO_MODELS]
    all_verdicts = verdicts(results)
    length = seconds if seconds is not None else float(rng.randint(3, 30))
    chunks = []
    start = 0.0
    index = 0
    while start < length or index == 0:
        end = min(length, start + 10.0)
        chunk_results = [_model(rng, name, lean, details=True) for name in AUDIO_MODELS]
        verdict = main_verdict(verdicts(chunk_results))
        verdict.pop("models")
        chunk = {"index": index, "start": round(start, 3), "end": round(end, 3)}
        chunks.append({**chunk, "results": chunk_results, "verdict": verdict})
        index += 1
        start = end
        if end >= length:
            break
    main = main_verdict(all_verdicts)
    main.pop("models")
    return {
        "verdict": main,
        "verdicts": [{key: value for key, value in item.items() if key != "models"} for item in all_verdicts],
        "results": results,
        "chunk_details": chunks,
    }


def heatmap(digest_hex: str, width: int, height: int) -> bytes:
    """The heatmap PNG: the size of the image (at most 512 pixels a side), drawn from its hash."""
    scale = max(width, height) / 512 if max(width, height) > 512 else 1.0
    seed = int(digest_hex[:8], 16)
    return images.render(max(1, int(width / scale)), max(1, int(height / scale)), seed, "png")
