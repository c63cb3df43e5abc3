"""Voice benchmark pieces: STT real-time factor, English WER, speech-end → first audio.

``python -m voice.bench [--write docs/benchmarks.md]`` runs them on the default model
(or ``ANXIN_WHISPER_MODEL``) with English utterances spoken by espeak-ng at an elder's
pace, and the real Mandarin samples when their wheel is in ``var/cache``. ``anxin bench
voice`` can call :func:`run` and :func:`markdown`.

"First audio" here is transcription plus the first sentence of a short reply from the
offline voice: the dialogue's own time (Rasa, actions) is not in it. ``anxin bench voice
--stack`` (anxin/bench/voice_call.py) measures the whole way instead: calls over the
voice WebSocket of the real stack, the server's VAD window and Rasa's turn included.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from voice.base import Audio
from voice.codecs import decode
from voice.stt import WhisperTranscriber, load_whisper
from voice.tts import EspeakSynthesizer

# Short requests an elder makes, as the dialogue expects them.
ENGLISH_SET = (
    "I would like to book lunch for tomorrow",
    "Please cancel my clinic visit",
    "Can a volunteer call me this evening",
    "Please book day care for my mother",
    "I want to see a doctor on Friday morning",
    "What services do you have",
    "I feel lonely today",
    "Thank you goodbye",
)
REPLY = {"en": "All right. Your booking is confirmed.", "zh": "好的。已经为您预约好了。"}


@dataclass
class VoiceBench:
    model: str
    load_seconds: float
    audio_seconds: float = 0.0
    stt_seconds: float = 0.0
    word_errors: int = 0
    words: int = 0
    first_audio: List[float] = field(default_factory=list)
    per_clip: List[Tuple[float, float]] = field(default_factory=list)  # (audio s, stt s)

    @property
    def rtf(self) -> float:
        return self.stt_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def wer(self) -> float:
        return self.word_errors / self.words if self.words else 0.0


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level edit distance, case and punctuation ignored."""
    ref = re.findall(r"[a-z0-9']+", reference.lower())
    hyp = re.findall(r"[a-z0-9']+", hypothesis.lower())
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def espeak_audio(text: str, voice: str = "en-us", wpm: int = 120) -> Audio:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run(
        [exe, "-v", voice, "-s", str(wpm), "--stdout", "--stdin"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    )
    return decode(done.stdout, "wav")


async def measure(
    transcriber: WhisperTranscriber,
    english: Sequence[str] = ENGLISH_SET,
    extra: Sequence[Tuple[Audio, str]] = (),
    synthesizer: Optional[EspeakSynthesizer] = None,
    result: Optional[VoiceBench] = None,
) -> VoiceBench:
    """Transcribe each clip once (after one warm-up) and time it; fills ``result``."""
    result = result or VoiceBench(model="?", load_seconds=0.0)
    synthesizer = synthesizer or EspeakSynthesizer()
    clips = [(espeak_audio(text), text, "en") for text in english]
    clips += [(audio, ref, "zh") for audio, ref in extra]
    if clips:  # the first call pays one-time set-up (VAD model, caches): not a turn's cost
        await transcriber.transcribe(clips[0][0])
    for audio, reference, lang in clips:
        started = time.perf_counter()
        heard = await transcriber.transcribe(audio)
        stt = time.perf_counter() - started
        async for _first in synthesizer.synthesize(REPLY[heard.language], heard.language):
            break
        result.first_audio.append(time.perf_counter() - started)
        result.audio_seconds += audio.seconds
        result.stt_seconds += stt
        result.per_clip.append((audio.seconds, stt))
        if lang == "en":
            result.word_errors += word_errors(reference, heard.text)
            result.words += len(reference.split())
    return result


def run(model: Optional[str] = None, extra: Sequence[Tuple[Audio, str]] = ()) -> VoiceBench:
    started = time.perf_counter()
    whisper = load_whisper(model)
    loaded = time.perf_counter() - started
    result = VoiceBench(model=model or "default (base, PyPI)", load_seconds=loaded)
    # No reply is cached: every turn pays its synthesis, as a new sentence would.
    synth = EspeakSynthesizer()
    synth.cache.max_chars = 0
    transcriber = WhisperTranscriber(whisper)
    return asyncio.run(measure(transcriber, extra=extra, synthesizer=synth, result=result))


def _percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def markdown(result: VoiceBench, cpu: str, command: str) -> str:
    clips = len(result.per_clip)
    return "\n".join(
        [
            f"## Voice: speech-to-text on {cpu}",
            "",
            f"`{command}` — model {result.model}, int8, Silero VAD, greedy decoding; "
            f"{clips} short utterances ({result.audio_seconds:.1f} s of audio).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| model load | {result.load_seconds:.1f} s |",
            f"| STT real-time factor (processing / audio) | {result.rtf:.2f} |",
            f"| STT per utterance, mean | {statistics.mean(s for _, s in result.per_clip):.2f} s |",
            f"| English WER (espeak-ng, 120 wpm) | {result.wer:.1%} "
            f"({result.word_errors}/{result.words} words) |",
            f"| speech end → first reply audio, p50 / p95 (STT + espeak-ng, no dialogue, "
            "no VAD window: see `--stack`) | "
            f"{_percentile(result.first_audio, 50):.2f} s / "
            f"{_percentile(result.first_audio, 95):.2f} s |",
            "",
        ]
    )


def _mandarin_from_cache() -> List[Tuple[Audio, str]]:
    import zipfile

    from voice.whisper_model import var_dir

    wheels = sorted((var_dir() / "cache" / "pytest-audioeval").glob("*.whl"))
    if not wheels:
        return []
    out = []
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for name in sorted(wheel.namelist()):
            if "/samples/audio/zh/" in name and name.endswith(".wav"):
                text = wheel.read(name[:-4] + ".txt").decode("utf-8").strip()
                out.append((decode(wheel.read(name)), text))
    return out


def _cpu() -> str:
    import os
    import platform

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({name})"


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m voice.bench")
    parser.add_argument("--model", help="a size or a path (default: ANXIN_WHISPER_MODEL / base)")
    parser.add_argument("--write", help="append the Markdown table to this file")
    args = parser.parse_args(argv)
    result = run(args.model, extra=_mandarin_from_cache())
    command = "python -m voice.bench" + (f" --write {args.write}" if args.write else "")
    text = markdown(result, _cpu(), command)
    print(text)
    if args.write:
        with open(args.write, "a", encoding="utf-8") as out:
            out.write("\n" + text)
    return {"rtf": result.rtf, "wer": result.wer, "load_seconds": result.load_seconds}


if __name__ == "__main__":
    main()
