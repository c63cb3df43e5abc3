"""Speech-to-text with faster-whisper.

One model per process (:func:`load_whisper` is the factory), int8 on CPU. Nothing of
CTranslate2 survives a ``fork``: once a process has loaded a model, its OpenMP threads
(GNU libgomp) stay behind in it, and a forked child that loads or runs a model waits for
them forever. Rasa's Sanic workers are forked after the channels are built, so the
channels' transcriber is given ``load`` rather than a model: each process that uses it
loads its own (``prepare``, at a worker's start), and the parent never loads one.

Each call runs Silero VAD first — silence and noise end there, cheaply, as
``no_speech`` — then picks Chinese or English (only those two: Whisper's own detection
happily answers Japanese or Cantonese for a Harbin accent), then decodes with a prompt of
the domain's words. Everything blocking runs in ``asyncio.to_thread`` so the event loop
keeps serving other conversations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import math
import os
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from voice.base import LANGUAGES, SAMPLE_RATE, Audio, Transcript
from voice.codecs import to_samples
from voice.whisper_model import resolve_model
from voice.zh_simplify import to_simplified

logger = logging.getLogger(__name__)

# The prompt steers spelling, not content: Simplified characters, and the domain's words
# written the way our NLU data writes them (a "午饭" heard as "五饭" books nothing).
PROMPTS = {
    "zh": "以下是普通话的句子。我想预约明天的午饭，在食堂吃。日托，门诊，陪聊，取消预约。",
    # The short answers a booking asks for come first: on a phone line a bare "Yes", "No"
    # or "Two" was heard as "The", "Hello", "Good" without them (17 → 11 word errors on
    # our English set of 17 requests and answers at 16 and 8 kHz).
    "en": "Yes, please. No, thank you. Number one, number two. Booking lunch at the canteen, "
    "day care, a clinic visit, a companionship call from a volunteer.",
}
# Whisper's own "nothing was said" signal, used as openai-whisper does: a segment whose
# no-speech probability is high AND whose text is improbable is a hallucination on noise.
NO_SPEECH_PROB = 0.6
LOGPROB_FLOOR = -1.0
# Text that compresses this well is a loop, as in openai-whisper's fallback rule.
REPETITIVE = 2.4
# The encoder's window for a turn (see encoder_frames): speech + 4 s, at least 15 s.
SHORT_PAD_FRAMES = 400
SHORT_MIN_FRAMES = 1500
# A short-window decoding less sure than this (mean token probability) is decoded again
# with the full 30-s window: the misheard short answers scored 0.35-0.41, heard right ≥ 0.47.
RECHECK_BELOW = 0.45
# Speech shorter than this after VAD is a cough or a click, not a turn.
MIN_SPEECH_SECONDS = 0.25


_loaded: Dict[Tuple[int, str, int], Any] = {}
_loading = threading.Lock()


def load_whisper(model: Optional[str] = None, cpu_threads: Optional[int] = None) -> Any:
    """The process's faster-whisper model (``ANXIN_WHISPER_MODEL``, else the default).

    Loaded once per process and shared: every channel that asks gets the same model
    (each copy of ``base`` is ~150 MB of RAM and ~1 s to load). A forked child loads
    its own (the cache is keyed by the process).
    """
    from faster_whisper import WhisperModel

    path = resolve_model(model)
    threads = cpu_threads or int(os.environ.get("ANXIN_WHISPER_THREADS", 0)) or os.cpu_count()
    key = (os.getpid(), path, threads or 0)
    with _loading:
        if key not in _loaded:
            started = time.perf_counter()
            _loaded[key] = WhisperModel(
                path, device="cpu", compute_type="int8", cpu_threads=threads or 0
            )
            logger.info(
                "Whisper model %s loaded in %.1f s (%s threads)",
                path,
                time.perf_counter() - started,
                threads,
            )
        return _loaded[key]


class WhisperTranscriber:
    """:class:`voice.base.Transcriber` over a loaded faster-whisper model."""

    def __init__(
        self,
        model: Any = None,
        beam_size: int = 1,
        short_window: bool = True,
        load: Optional[Callable[[], Any]] = None,
    ) -> None:
        """``model`` loaded already (this process uses it), or ``load``: how the process
        that transcribes gets its own (e.g. load_whisper), before a fork or after it."""
        if model is None and load is None:
            raise ValueError("a Whisper model, or how to load one")
        self._model = model
        self._pid = os.getpid()
        self._load = load
        self._short_window = short_window  # False: every turn padded to Whisper's 30 s
        # Greedy decoding: on 2 cores beam 5 costs ~2x for no gain on short turns.
        self._beam_size = beam_size
        # CTranslate2 already uses every core for one call; two calls at once only
        # thrash, so they queue here (in the worker thread, never on the event loop).
        self._lock = threading.Lock()

    async def transcribe(self, audio: Audio, language: Optional[str] = None) -> Transcript:
        return await asyncio.to_thread(self.transcribe_sync, audio, language)

    def prepare(self) -> None:
        """Load this process's model now (a worker's start-up) rather than on the first call."""
        pid = os.getpid()
        if self._model is not None and self._pid == pid:
            return
        if self._load is None:  # a model given, and this is a forked child
            raise RuntimeError("a Whisper model loaded before a fork cannot be used after it")
        started = time.perf_counter()
        self._model, self._lock, self._pid = self._load(), threading.Lock(), pid
        took = time.perf_counter() - started
        logger.info("Whisper: this process's own model ready in %.1f s", took)

    def transcribe_sync(self, audio: Audio, language: Optional[str] = None) -> Transcript:
        self.prepare()
        if language is not None and language not in LANGUAGES:
            language = None
        samples = to_samples(audio)
        speech = _speech_only(samples)
        if speech.size < MIN_SPEECH_SECONDS * SAMPLE_RATE:
            return Transcript("", language or "zh", 0.0, no_speech=True)
        with self._lock:
            try:
                lang, segments = self._one_encoder_pass(speech, language)
            except (AttributeError, TypeError, ImportError) as exc:
                # faster-whisper's internals moved: the public API costs one more pass.
                logger.debug("single-pass decoding unavailable (%s)", type(exc).__name__)
                lang, segments = self._two_passes(speech, language)
        return _to_transcript(segments, lang)

    def _options(self, lang: str, seconds: float) -> Dict[str, Any]:
        return dict(
            language=lang,
            task="transcribe",
            beam_size=self._beam_size,
            initial_prompt=PROMPTS[lang],
            condition_on_previous_text=False,
            without_timestamps=True,
            # A wrong language hint (English spoken to a "zh" profile) makes Whisper
            # repeat itself for tens of seconds, once per fallback temperature: one
            # greedy pass, and no more tokens than speech of this length can hold.
            temperature=0.0,
            max_new_tokens=_token_budget(seconds),
        )

    def _one_encoder_pass(self, speech: np.ndarray, hint: Optional[str]) -> Tuple[str, list]:
        """Detect the language and decode from ONE run of the encoder.

        The public API runs Whisper's encoder (most of the cost on a CPU) once to detect
        the language and again to transcribe. This is what ``WhisperModel.transcribe``
        does, with the first window's encoder output kept and handed to
        ``generate_segments``, which accepts it for that purpose — and with that window
        cut to the turn's length (:func:`encoder_frames`).
        """
        model = self._model
        features = model.feature_extractor(speech)
        first = min(model.feature_extractor.nb_max_frames, features.shape[-1] - 1)
        full = model.feature_extractor.nb_max_frames
        seconds = speech.size / SAMPLE_RATE
        frames = encoder_frames(first, full) if self._short_window else full
        lang, segments = self._decode(features, first, frames, hint, seconds)
        if frames < full and _doubtful(segments):
            # The short window misheard a few words our dialogue hangs on ("Number two" on
            # a phone line, heard as "And Humberto"): unsure turns get the full window.
            lang, segments = self._decode(features, first, full, hint, seconds)
        return lang, segments

    def _decode(
        self, features: np.ndarray, first: int, frames: int, hint: Optional[str], seconds: float
    ) -> Tuple[str, list]:
        """Encode the first window padded to ``frames``, pick the language, decode."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        model = self._model
        encoder_output = model.encode(pad_or_trim(features[:, :first], frames))
        if not model.model.is_multilingual:
            lang = "en"  # an English-only model (tiny.en, base.en…) has no language to pick
        elif hint is None:
            results = model.model.detect_language(encoder_output)[0]
            lang = _pick_language({token[2:-2]: prob for token, prob in results})
        else:
            lang = hint
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, "transcribe", lang)
        wanted = {**_transcribe_defaults(model), **self._options(lang, seconds)}
        wanted["temperatures"] = [wanted.pop("temperature")]
        wanted["suppress_tokens"] = get_suppressed_tokens(tokenizer, wanted["suppress_tokens"])
        fields = {f.name for f in dataclasses.fields(TranscriptionOptions)}
        options = TranscriptionOptions(**{k: v for k, v in wanted.items() if k in fields})
        segments = model.generate_segments(features, tokenizer, options, False, encoder_output)
        return lang, list(segments)  # the generator does the decoding

    def _two_passes(self, speech: np.ndarray, hint: Optional[str]) -> Tuple[str, list]:
        if not self._model.model.is_multilingual:
            hint = "en"
        elif hint is None:
            _lang, _prob, all_probs = self._model.detect_language(audio=speech)
            hint = _pick_language(dict(all_probs))
        options = self._options(hint, speech.size / SAMPLE_RATE)
        segments, _info = self._model.transcribe(speech, vad_filter=False, **options)
        return hint, list(segments)


def _pick_language(probs: Dict[str, float]) -> str:
    # Cantonese and Japanese are what a Mandarin speaker is most often mistaken for.
    zh = probs.get("zh", 0.0) + probs.get("yue", 0.0) + 0.5 * probs.get("ja", 0.0)
    return "zh" if zh >= probs.get("en", 0.0) else "en"


def _transcribe_defaults(model: Any) -> Dict[str, Any]:
    return {
        name: param.default
        for name, param in inspect.signature(model.transcribe).parameters.items()
        if param.default is not inspect.Parameter.empty
    }


def encoder_frames(speech_frames: int, full: int = 3000) -> int:
    """How many feature frames (10 ms each) the encoder gets for a turn's first window.

    Whisper was trained on 30-s windows, and faster-whisper pads every turn to one; but
    on a CPU the encoder's cost grows much faster than its input (base, int8, 2 cores:
    0.3-0.6 s for 3000 frames, 0.08 s for 1500), and a phone turn is a few seconds. A
    window of the speech plus 4 s of padding, at least 15 s, heard our English set as
    well as the full window (16 kHz and 8 kHz telephony) and the Mandarin samples a
    little better; shorter windows (speech + 2-4 s) misheard short phone answers
    ("Yes please" → "Be at least"). Measured: docs/benchmarks.md, "short encoder window".
    """
    wanted = -(-(speech_frames + SHORT_PAD_FRAMES) // 100) * 100  # whole seconds
    return min(full, max(SHORT_MIN_FRAMES, wanted))


def _doubtful(segments: list) -> bool:
    """Whether a decoding is unsure enough to be worth hearing again with the full window."""
    if not segments:
        return False
    weights = [max(len(s.tokens), 1) for s in segments]
    logprob = sum(s.avg_logprob * w for s, w in zip(segments, weights, strict=True)) / sum(weights)
    looping = max(s.compression_ratio for s in segments) > REPETITIVE
    return math.exp(logprob) < RECHECK_BELOW or looping


def _token_budget(seconds: float) -> int:
    # Fast speech is ~6 Chinese characters or ~4 English words a second, 1-2 tokens each.
    return int(min(200, 16 + 12 * seconds))


def _speech_only(samples: np.ndarray) -> np.ndarray:
    """The speech in ``samples`` (Silero VAD), joined; empty when there is none."""
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    # Elders pause mid-sentence: keep pauses up to 1 s inside one chunk.
    options = VadOptions(min_silence_duration_ms=1000, speech_pad_ms=300)
    chunks = get_speech_timestamps(samples, options)
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    pieces, _meta = collect_chunks(samples, chunks)
    return np.concatenate(pieces)


def _to_transcript(segments: list, lang: str) -> Transcript:
    kept = [
        s
        for s in segments
        if not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < LOGPROB_FLOOR)
    ]
    text = "".join(s.text for s in kept) if lang == "zh" else " ".join(s.text for s in kept)
    text = " ".join(text.split())
    if lang == "zh":
        text = to_simplified(text).replace(" ", "")
    if not text.strip(" .,!?。，！？"):
        return Transcript("", lang, 0.0, no_speech=True)
    # Mean token probability, each segment weighted by its token count.
    weights = [max(len(s.tokens), 1) for s in kept]
    logprob = sum(s.avg_logprob * w for s, w in zip(kept, weights, strict=True)) / sum(weights)
    confidence = max(0.0, min(1.0, math.exp(logprob)))
    if max(s.compression_ratio for s in kept) > REPETITIVE:
        # "鸡鸡鸡鸡…": Whisper looping on speech it cannot place is confident nonsense.
        confidence *= 0.25
    return Transcript(text, lang, round(confidence, 3))
