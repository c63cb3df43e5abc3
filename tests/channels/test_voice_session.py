"""The call's rules with fixed audio vectors: turn ends, barge-in, the keypad (no models)."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from channels.voice_engines import format_of, read_wav, wav_bytes
from channels.voice_session import (
    KEYPAD,
    CallSession,
    SessionSettings,
    SpeechStarted,
    TurnDetector,
    TurnEnded,
    TurnPaused,
    has_speech,
    intent_message,
    phrase,
    rms,
)
from voice.base import Audio, UnsupportedAudio

RATE = 16_000


def tone(seconds: float, amplitude: int = 3000) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


def quiet(seconds: float, amplitude: int = 0) -> bytes:
    """Silence, or room noise as loud as ``amplitude`` (seeded: the same every run)."""
    noise = np.random.default_rng(7).integers(-amplitude, amplitude + 1, int(RATE * seconds))
    return noise.astype("<i2").tobytes()


def frames(pcm: bytes, size: int = 640) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def test_rms_of_known_vectors():
    assert rms(b"") == 0.0
    assert rms(np.full(100, 1000, "<i2").tobytes()) == pytest.approx(1000)
    assert rms(tone(1.0)) == pytest.approx(3000 / np.sqrt(2), rel=0.01)


def test_a_turn_ends_after_the_silence_window_not_before():
    detector = TurnDetector(SessionSettings(silence_s=0.9))
    assert detector.feed(quiet(0.5)) == []  # nobody speaking: nothing
    [started] = detector.feed(tone(1.0))
    assert isinstance(started, SpeechStarted)
    # An elder's pause mid-sentence is not the end (only a guess is started at 0.3 s).
    [paused] = detector.feed(quiet(0.86))
    assert isinstance(paused, TurnPaused)
    [ended] = detector.feed(quiet(0.04))
    assert isinstance(ended, TurnEnded)
    # The turn is the speech with 0.2 s of the quiet before it and after it.
    assert ended.audio.seconds == pytest.approx(1.4, abs=0.021)
    assert paused.audio == ended.audio  # the guess was the whole turn


def test_the_silence_window_is_configurable():
    short = TurnDetector(SessionSettings(silence_s=0.4))
    short.feed(tone(0.5))
    assert [type(e) for e in short.feed(quiet(0.4))] == [TurnPaused, TurnEnded]
    assert SessionSettings.from_env({"ANXIN_VOICE_SILENCE_S": "1.2"}).silence_s == 1.2
    assert SessionSettings.from_env({}).silence_s == 0.9
    with pytest.raises(SystemExit):
        SessionSettings.from_env({"ANXIN_VOICE_SILENCE_S": "soon"})
    with pytest.raises(SystemExit):
        SessionSettings.from_env({"ANXIN_VOICE_SILENCE_S": "0"})


def test_a_pause_shorter_than_the_window_keeps_one_turn_in_any_frame_size():
    detector = TurnDetector()
    pcm = tone(0.6) + quiet(0.5) + tone(0.6) + quiet(1.0)
    events = [e for f in frames(pcm, 777) for e in detector.feed(f)]
    # A guess at each pause; the first is dropped when the caller goes on.
    assert [type(e) for e in events] == [SpeechStarted, TurnPaused, TurnPaused, TurnEnded]
    assert events[1].audio != events[3].audio
    assert events[2].audio == events[3].audio
    assert events[3].audio.seconds == pytest.approx(0.6 + 0.5 + 0.6 + 0.2, abs=0.03)


def test_a_click_and_room_noise_are_not_turns():
    detector = TurnDetector()
    assert detector.feed(tone(0.06) + quiet(2.0)) == []  # a knock on the handset
    assert detector.feed(quiet(3.0, amplitude=300)) == []  # a quiet room's hiss


def test_steady_noise_makes_at_most_one_turn_then_speech_above_it_is_heard():
    detector = TurnDetector()
    room = quiet(12.0, amplitude=900)  # a television: RMS ~520, over the fixed level
    events = [e for e in detector.feed(room) if not isinstance(e, TurnPaused)]
    assert [type(e) for e in events] in ([], [SpeechStarted, TurnEnded])  # learned in seconds
    assert detector.feed(quiet(5.0, amplitude=900)) == []  # after that the room is quiet
    voice = np.frombuffer(tone(1.0, 6000), "<i2") + np.frombuffer(quiet(1.0, 900), "<i2")
    assert detector.feed(voice.tobytes())[:1] == [SpeechStarted()]


def test_a_long_sentence_is_not_taken_for_noise():
    detector = TurnDetector()
    words = (tone(0.4) + quiet(0.15, amplitude=100)) * 20  # 11 s of talk, short gaps
    events = detector.feed(words + quiet(1.0))
    assert [type(e) for e in events] == [SpeechStarted, TurnPaused, TurnEnded]


def test_someone_who_never_pauses_is_answered_at_the_turn_limit():
    detector = TurnDetector(SessionSettings(max_turn_s=2.0))
    events = detector.feed(tone(2.5))
    # The rest of the speech goes on as the next turn.
    assert [type(e) for e in events] == [SpeechStarted, TurnEnded, SpeechStarted]
    assert events[1].audio.seconds == pytest.approx(2.0, abs=0.021)


def test_silence_and_speech_in_a_whole_recording():
    assert not has_speech(Audio(quiet(3.0)))
    assert not has_speech(Audio(quiet(3.0, amplitude=300) + tone(0.1)))
    assert has_speech(Audio(quiet(1.0) + tone(0.5) + quiet(1.0)))
    assert not has_speech(Audio(b""))


def test_caller_speech_while_we_play_is_a_barge_in_and_stops_playback():
    call = CallSession()
    call.playing = True
    assert call.audio(tone(0.1)) == []  # 0.1 s could be our own echo or a click
    assert call.audio(tone(0.2)) == ["barge_in"]
    assert call.playing is False
    guess, heard = call.audio(quiet(1.0))  # and the caller is heard
    assert isinstance(guess, TurnPaused) and isinstance(heard, Audio)


def test_speech_while_we_are_quiet_is_just_a_turn():
    call = CallSession()
    turn = Audio(tone(0.5) + quiet(0.2))
    assert call.audio(tone(0.5) + quiet(1.0)) == [TurnPaused(turn), turn]


def test_the_quiet_just_before_speech_is_kept_and_no_more():
    detector = TurnDetector()
    hiss = quiet(1.0, amplitude=100)  # a soft onset sits under the energy level
    events = detector.feed(hiss + tone(0.5) + quiet(1.0))
    ended = events[-1]
    assert isinstance(ended, TurnEnded)
    assert ended.audio.pcm.startswith(hiss[-int(RATE * 0.2) * 2 :] + tone(0.5))
    assert ended.audio.seconds == pytest.approx(0.2 + 0.5 + 0.2, abs=0.021)


def test_a_turn_is_in_progress_from_its_first_speech_to_its_end():
    detector = TurnDetector()
    detector.feed(quiet(0.5))
    assert not detector.in_turn  # quiet on the line: staff replies may be spoken now
    detector.feed(tone(0.1))
    assert detector.in_turn  # the caller has started: we must not speak over them
    detector.feed(quiet(0.5))
    assert detector.in_turn  # a pause inside the turn
    detector.feed(quiet(0.5))
    assert not detector.in_turn


def test_guessing_can_be_turned_off():
    detector = TurnDetector(SessionSettings(guess_after_s=0))
    assert [type(e) for e in detector.feed(tone(0.5) + quiet(1.0))] == [SpeechStarted, TurnEnded]


def test_the_keypad_is_offered_after_two_poorly_understood_turns_in_a_row():
    call = CallSession()
    assert call.understood(False) is False
    assert call.understood(True) is False  # understood in between: count starts again
    assert call.understood(False) is False
    assert call.understood(False) is True
    assert call.keypad_offered
    assert call.understood(False) is False  # not on every turn after


@pytest.mark.parametrize(
    ("digit", "intent"),
    [("1", "book_meal"), ("2", "book_day_care"), ("3", "book_clinic"),
     ("4", "book_companion_call"), ("0", "request_human")],
)  # fmt: skip
def test_keys_map_to_the_intents(digit, intent):
    assert CallSession().key(digit, "en") == f'/{intent}{{"language":"en"}}'


@pytest.mark.parametrize("digit", ["5", "9", "*", "#", "11", "", "１", "²"])
def test_other_keys_mean_nothing(digit):
    assert CallSession().key(digit, "zh") is None


def test_while_choices_are_offered_a_key_in_range_answers_them():
    call = CallSession(choices=2)  # "1. At the canteen 2. Deliver it home"
    assert call.key("2", "en") == "2"
    assert call.key("3", "en") == '/book_clinic{"language":"en"}'  # out of range: the menu
    assert call.key("0", "en") == '/request_human{"language":"en"}'  # always a person
    assert CallSession(choices=9).key("7", "zh") == "7"


def test_pressing_a_key_resets_the_count():
    call = CallSession()
    call.understood(False)
    call.key("1", "zh")
    assert call.understood(False) is False


def test_what_the_channel_says_itself_in_both_languages():
    assert intent_message("book_meal", "en") == '/book_meal{"language":"en"}'
    assert "没听清" in phrase("not_heard", "zh") and "didn't hear" in phrase("not_heard", "en")
    assert phrase("not_heard", None) == phrase("not_heard", "zh")  # Chinese first
    offer = phrase("keypad", "en")
    assert all(f"press {d}" in offer or f", {d} for" in offer for d in "12340")
    assert set(KEYPAD) == {"0", "1", "2", "3", "4"}


def test_formats_from_content_type_or_query():
    assert format_of("audio/wav", None) == "wav"
    assert format_of("audio/mpeg; charset=x", None) == "mp3"
    assert format_of("audio/ogg", None) == "ogg" and format_of("audio/amr", None) == "amr"
    assert format_of("text/plain", "amr") == "amr"
    assert format_of("text/plain", None) is None
    assert format_of("audio/L16", None) == "pcm16k"
    assert format_of("audio/wav", "flac") is None


def test_wav_round_trip_and_resampling():
    pcm = tone(0.5)
    assert read_wav(wav_bytes(Audio(pcm)), "wav").pcm == pcm
    out = io.BytesIO()
    with wave.open(out, "wb") as w:  # 8 kHz stereo, as a phone recorder might write
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.repeat(np.frombuffer(tone(0.5)[::2], "<i2"), 2).tobytes())
    audio = read_wav(out.getvalue(), None)
    assert audio.seconds == pytest.approx(0.5, abs=0.01)
    with pytest.raises(UnsupportedAudio):
        read_wav(b"RIFF\x00\x00junk", "wav")
    with pytest.raises(UnsupportedAudio):
        read_wav(wav_bytes(Audio(pcm)), "amr")
