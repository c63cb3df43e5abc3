"""Whisper in processes that fork, as Rasa's Sanic workers are forked after the channels
were built. Once a process has loaded a CTranslate2 model, a forked child that loads or
runs one waits forever for OpenMP threads left in the parent: the channels' transcriber
must load its model in each worker, never in the parent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.forks import in_child
from voice import codecs
from voice.stt import WhisperTranscriber

ROOT = Path(__file__).resolve().parents[2]

# Rasa's parent builds the channels' engines, forks a worker, which prepares and hears;
# then the parent itself hears (one worker: Sanic serves in the parent).
AS_RASA_DOES = """
import sys
from channels.voice_engines import build_engines
from tests.support.forks import in_child
from voice import codecs

engines = build_engines()
audio = codecs.decode(open(sys.argv[1], "rb").read(), "wav")

def worker():
    getattr(engines.transcriber, "prepare", lambda: None)()  # as the voice channel does
    return engines.transcriber.transcribe_sync(audio, "zh").text

print("worker:", in_child(worker, timeout_s=90), flush=True)
print("parent:", engines.transcriber.transcribe_sync(audio, "zh").text, flush=True)
"""


def test_a_forked_worker_hears_with_a_model_of_its_own(mandarin_samples, tmp_path):
    wav, _ = next(iter(mandarin_samples.values()))
    (tmp_path / "said.wav").write_bytes(wav)
    done = subprocess.run(
        [sys.executable, "-c", AS_RASA_DOES, str(tmp_path / "said.wav")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = dict(
        line.split(": ", 1)
        for line in done.stdout.splitlines()
        if line.startswith(("worker", "parent"))
    )
    assert done.returncode == 0 and set(lines) == {"worker", "parent"}, done.stdout + done.stderr
    assert lines["worker"] and not lines["worker"].startswith("failed"), lines
    assert lines["worker"] == lines["parent"]


def test_a_model_given_before_a_fork_is_refused_in_the_child_rather_than_hang(
    mandarin_samples, whisper_model
):
    wav, _ = next(iter(mandarin_samples.values()))
    transcriber = WhisperTranscriber(whisper_model)
    got = in_child(lambda: transcriber.transcribe_sync(codecs.decode(wav, "wav"), "zh").text)
    assert got.startswith("failed: RuntimeError"), got
