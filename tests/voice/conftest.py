"""Voice fixtures: the real default Whisper model, espeak-ng speech, real Mandarin samples."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Dict, Tuple

import numpy as np
import pytest

from tests import audio_samples
from voice import codecs
from voice.base import SAMPLE_RATE, Audio
from voice.stt import WhisperTranscriber, load_whisper


def espeak(text: str, voice: str = "en-us", speed: int = 120) -> bytes:
    """A WAV of ``text`` spoken by espeak-ng at an unhurried 120 words a minute.

    espeak-ng writes 22.05 kHz, so decoding it also exercises the resampler.
    """
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is not installed (apt-get install -y espeak-ng; .ci/run does it)"
    done = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return done.stdout


def tone(seconds: float, freq: float = 440.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def peak_frequency(audio: Audio) -> float:
    samples = codecs.to_samples(audio)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(samples))


@pytest.fixture(scope="session")
def whisper_model():
    started = time.perf_counter()
    model = load_whisper()
    print(f"\nWhisper default model loaded in {time.perf_counter() - started:.1f} s")
    return model


@pytest.fixture(scope="session")
def transcriber(whisper_model) -> WhisperTranscriber:
    return WhisperTranscriber(whisper_model)


@pytest.fixture(scope="session")
def mandarin_samples() -> Dict[str, Tuple[bytes, str]]:
    """Real Mandarin recordings with their transcripts (tests/audio_samples.py)."""
    return audio_samples.mandarin_samples()
