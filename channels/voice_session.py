"""The phone-style call's rules, with no models and no I/O (pure, testable with fixed vectors).

- ``TurnDetector``: 16 kHz 16-bit PCM in, in any frame size; a turn ends after
  ``silence_s`` of quiet following at least ``min_speech_s`` of speech, and is reported
  as paused earlier (``guess_after_s``) so it can be transcribed while the window runs. Energy (RMS)
  decides speech from quiet: cheap enough for every 20 ms window of every call, and the
  transcriber's own VAD looks again at the whole turn.
- ``CallSession``: the detector plus what a call remembers: whether we are speaking
  (caller speech then is a barge-in that stops our playback) and how many turns in a
  row we understood poorly (after two, the keypad is offered).
- The keypad's digits map to intents; phrases the channel says itself (not Rasa's
  responses) live here in both languages.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import numpy as np

from voice.base import SAMPLE_RATE, SAMPLE_WIDTH, Audio

WINDOW_S = 0.02  # energy is judged per 20 ms window, the usual telephony frame
WINDOW_BYTES = int(SAMPLE_RATE * WINDOW_S) * SAMPLE_WIDTH


@dataclass(frozen=True)
class SessionSettings:
    # Elders pause mid-sentence to find a word: 0.9 s of quiet, not the usual 0.5 s,
    # before we take the turn as finished.
    silence_s: float = 0.9
    # Shorter bursts are a cough, a click or a knock on the handset, not a turn.
    min_speech_s: float = 0.2
    # RMS of 16-bit samples above which a window may be speech: a quiet room on a phone
    # line sits around 50-200, soft speech from about 300 (-40 dBFS) up.
    energy: float = 300.0
    # In a noisy room (a television, a kitchen) speech must also stand this many times
    # above the call's own noise floor, so the noise alone never makes an endless turn.
    over_noise: float = 3.0
    # Quiet kept around the speech: soft first and last sounds ("h", "s", "f") sit under
    # the energy level, and Whisper hears a clipped word as another word.
    pre_roll_s: float = 0.2
    keep_tail_s: float = 0.2
    # After this much quiet the turn is transcribed on a guess, while the silence window
    # runs on: if the caller says no more, the answer is ready when the window closes;
    # if they go on, the guess is dropped. 0 (or ≥ silence_s) turns guessing off.
    guess_after_s: float = 0.3
    max_turn_s: float = 60.0  # the HTTP endpoint's limit too: one transcription's worth
    # Below this transcript confidence (mean token probability) a turn counts as
    # poorly understood, as does Rasa's nlu_fallback.
    low_confidence: float = 0.5
    keypad_after: int = 2  # poorly understood turns in a row before the keypad is offered

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> SessionSettings:
        env = os.environ if environ is None else environ
        raw = env.get("ANXIN_VOICE_SILENCE_S", str(cls.silence_s))
        try:
            silence = float(raw)
        except ValueError:
            raise SystemExit(f"ANXIN_VOICE_SILENCE_S={raw!r} is not a number of seconds") from None
        if not 0.2 <= silence <= 5.0:
            raise SystemExit(f"ANXIN_VOICE_SILENCE_S={raw!r}: between 0.2 and 5 seconds")
        return cls(silence_s=silence)


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit little-endian samples (0 for no samples)."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    if not samples.size:
        return 0.0
    return math.sqrt(float(np.mean(samples.astype(np.float64) ** 2)))


def has_speech(audio: Audio, settings: SessionSettings = SessionSettings()) -> bool:
    """Whether any stretch of ``min_speech_s`` is loud enough to be speech.

    Checked before a transcription: silence then costs nothing and never reaches Rasa.
    """
    needed = max(1, round(settings.min_speech_s / WINDOW_S))
    run = 0
    for start in range(0, len(audio.pcm) - WINDOW_BYTES + 1, WINDOW_BYTES):
        if rms(audio.pcm[start : start + WINDOW_BYTES]) >= settings.energy:
            run += 1
            if run >= needed:
                return True
        else:
            run = 0
    return False


@dataclass(frozen=True)
class SpeechStarted:
    """The caller began to speak (after ``min_speech_s``, so a click is not a barge-in)."""


@dataclass(frozen=True)
class TurnPaused:
    """The caller has been quiet for ``guess_after_s``: the turn as it would end now.

    If the turn does end without more speech, its ``TurnEnded`` audio is these same bytes.
    """

    audio: Audio


@dataclass(frozen=True)
class TurnEnded:
    audio: Audio


Event = Union[SpeechStarted, TurnPaused, TurnEnded]


@dataclass
class TurnDetector:
    settings: SessionSettings = field(default_factory=SessionSettings)
    _pending: bytearray = field(default_factory=bytearray)  # less than one window
    _turn: bytearray = field(default_factory=bytearray)
    _speech_windows: int = 0
    _quiet_windows: int = 0
    _started: bool = False
    _noise: float = 0.0  # the call's noise floor: a slow average of the quiet windows
    _before: bytearray = field(default_factory=bytearray)  # the last quiet before a turn

    @property
    def in_turn(self) -> bool:
        """The caller has begun a turn that has not ended yet."""
        return bool(self._turn)

    def feed(self, pcm: bytes) -> list[Event]:
        self._pending += pcm
        events: list[Event] = []
        while len(self._pending) >= WINDOW_BYTES:
            window = bytes(self._pending[:WINDOW_BYTES])
            del self._pending[:WINDOW_BYTES]
            event = self._window(window)
            if event is not None:
                events.append(event)
        return events

    def _window(self, window: bytes) -> Optional[Event]:
        s = self.settings
        level = rms(window)
        loud = level >= max(s.energy, s.over_noise * self._noise)
        # The floor follows the quietest windows: down at once in a pause between words,
        # up only slowly (a time constant of ~20 s), so steady noise (a television) is
        # learned within seconds while a long sentence does not count as noise.
        rate = 0.2 if level < self._noise else 0.001
        self._noise += (level - self._noise) * rate
        if not self._turn and not loud:
            # Quiet between turns is not kept, but for the moment just before speech.
            self._before += window
            del self._before[: max(0, len(self._before) - _windows(s.pre_roll_s) * WINDOW_BYTES)]
            return None
        if not self._turn:
            self._turn += self._before
            self._before.clear()
        self._turn += window
        if loud:
            self._speech_windows += 1
            self._quiet_windows = 0
        else:
            self._quiet_windows += 1
        if self._quiet_windows * WINDOW_S >= s.silence_s - 1e-9:
            return self._end()
        if (
            self._started
            and 0 < s.guess_after_s
            and self._quiet_windows == _windows(s.guess_after_s)
        ):
            return TurnPaused(self._as_ended())
        if len(self._turn) >= s.max_turn_s * SAMPLE_RATE * SAMPLE_WIDTH:
            return self._end()  # someone who never pauses is still answered
        if not self._started and self._speech_windows * WINDOW_S >= s.min_speech_s - 1e-9:
            self._started = True
            return SpeechStarted()
        return None

    def _as_ended(self) -> Audio:
        # Trailing quiet is dropped from the turn, but for ``keep_tail_s`` of it.
        quiet = max(0, self._quiet_windows - _windows(self.settings.keep_tail_s)) * WINDOW_BYTES
        return Audio(bytes(self._turn[: len(self._turn) - quiet]))

    def _end(self) -> Optional[Event]:
        started, audio = self._started, self._as_ended()
        self._turn.clear()
        self._speech_windows = self._quiet_windows = 0
        self._started = False
        return TurnEnded(audio) if started else None


def _windows(seconds: float) -> int:
    return round(seconds / WINDOW_S)


# The keypad: digits the caller presses, and what they mean.
KEYPAD = {
    "1": "book_meal",
    "2": "book_day_care",
    "3": "book_clinic",
    "4": "book_companion_call",
    "0": "request_human",
}

PHRASES = {
    # Said before the greeting to a caller whose number we know.
    "hello_name": {
        "zh": "{name}，您好！",
        "en": "Hello, {name}!",
    },
    "not_heard": {
        "zh": "不好意思，我没听清。您慢慢再说一遍，好吗？",
        "en": "Sorry, I didn't hear you. Could you say that again, slowly?",
    },
    "keypad": {
        "zh": "您也可以按键：订餐按1，日托按2，看病按3，陪聊电话按4，找工作人员按0。",
        "en": "You can also use the keypad: press 1 for meals, 2 for day care, "
        "3 for a clinic visit, 4 for a companionship call, 0 for a person.",
    },
    "bad_key": {
        "zh": "这个键没有用。订餐按1，日托按2，看病按3，陪聊电话按4，找工作人员按0。",
        "en": "That key does nothing. Press 1 for meals, 2 for day care, "
        "3 for a clinic visit, 4 for a companionship call, 0 for a person.",
    },
}


def phrase(key: str, language: Optional[str]) -> str:
    return PHRASES[key]["en" if language == "en" else "zh"]


def intent_message(intent: str, language: str) -> str:
    """A message Rasa reads as the intent itself, in the caller's language."""
    return f"/{intent}" + json.dumps({"language": language}, separators=(",", ":"))


@dataclass
class CallSession:
    """One call: turn detection, barge-in and the keypad offer."""

    settings: SessionSettings = field(default_factory=SessionSettings)
    playing: bool = False  # our speech is going out to the caller
    low_turns: int = 0  # poorly understood turns in a row
    keypad_offered: bool = False
    choices: int = 0  # numbered choices in our last reply, answered by a key in range
    detector: TurnDetector = field(init=False)

    def __post_init__(self) -> None:
        self.detector = TurnDetector(self.settings)

    def audio(self, pcm: bytes) -> list[Union[str, Audio, TurnPaused]]:
        """What the caller's audio asks of the call, in order: "barge_in" (stop our
        playback), a paused turn to transcribe on a guess, finished turns to answer."""
        actions: list[Union[str, Audio, TurnPaused]] = []
        for event in self.detector.feed(pcm):
            if isinstance(event, SpeechStarted):
                if self.playing:
                    self.playing = False
                    actions.append("barge_in")
            elif isinstance(event, TurnPaused):
                actions.append(event)
            else:
                actions.append(event.audio)
        return actions

    def understood(self, confident: bool) -> bool:
        """Record how a turn went; True when the keypad should be offered now."""
        if confident:
            self.low_turns = 0
            return False
        self.low_turns += 1
        if self.low_turns >= self.settings.keypad_after:
            self.low_turns = 0
            self.keypad_offered = True
            return True
        return False

    def key(self, digit: str, language: str) -> Optional[str]:
        """What Rasa is told for a pressed key; None for a key with no meaning.

        While the last reply offered numbered choices ("1. At the canteen 2. Deliver it
        home"), a key in their range answers them, as a spoken "2" would (the actions
        read choices by number); otherwise keys are the keypad menu, and 0 is always a
        person.
        """
        if digit != "0" and digit in "123456789" and len(digit) == 1 and int(digit) <= self.choices:
            self.low_turns = 0
            return digit
        intent = KEYPAD.get(digit)
        if intent is None:
            return None
        self.low_turns = 0
        return intent_message(intent, language)
