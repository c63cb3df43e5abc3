"""Codecs: every format round-trips a tone at 16 kHz with its length and pitch kept."""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest

from voice import codecs
from voice.base import SAMPLE_RATE, AudioTooLarge, UnsupportedAudio

from .conftest import peak_frequency, tone

HINTS = {"ulaw8k": "ulaw8k", "pcm16k": "pcm16k"}


@pytest.mark.parametrize("fmt", codecs.ENCODE_FORMATS)
def test_round_trip_keeps_duration_and_pitch(fmt: str) -> None:
    audio = codecs.from_samples(tone(2.0, 440.0))
    data = codecs.encode(audio, fmt)
    back = codecs.decode(data, HINTS.get(fmt))
    # Lossy codecs pad a frame or two (AMR-NB frames are 20 ms); nothing more.
    assert back.seconds == pytest.approx(2.0, abs=0.05)
    assert peak_frequency(back) == pytest.approx(440.0, abs=2.0)
    level = np.sqrt(np.mean(codecs.to_samples(back) ** 2))
    assert 0.25 < level < 0.4  # a 0.5-amplitude sine has RMS 0.354


def test_containers_are_the_platforms_formats() -> None:
    audio = codecs.from_samples(tone(1.0))
    assert codecs.encode(audio, "amr").startswith(b"#!AMR\n")  # WeChat voice upload
    ogg = codecs.encode(audio, "ogg_opus")  # Telegram sendVoice
    assert ogg.startswith(b"OggS") and b"OpusHead" in ogg[:200]
    assert codecs.encode(audio, "wav").startswith(b"RIFF")
    mp3 = codecs.encode(audio, "mp3")
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    assert len(codecs.encode(audio, "ulaw8k")) == 8_000  # one byte per 8 kHz sample


def test_telephony_ulaw_is_upsampled_to_16k() -> None:
    # 1 s of a 1 kHz tone as 8 kHz μ-law, made without our encoder.
    t = np.arange(8_000) / 8_000
    pcm8k = (0.5 * np.sin(2 * np.pi * 1_000 * t) * 32767).astype("<i2")
    ulaw = _mulaw_encode(pcm8k)
    audio = codecs.decode(ulaw, "ulaw8k")
    assert len(audio.pcm) == 2 * SAMPLE_RATE
    assert peak_frequency(audio) == pytest.approx(1_000.0, abs=2.0)
    samples = codecs.to_samples(audio)
    # The sign convention is right: the waveform follows the sine, not its mirror image.
    t16 = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    assert np.corrcoef(samples, np.sin(2 * np.pi * 1_000 * t16))[0, 1] > 0.9


def _mulaw_encode(pcm: np.ndarray) -> bytes:
    """G.711 μ-law by the formula, so the test does not trust our own encoder."""
    x = pcm.astype(np.float64) / 32768.0
    y = np.sign(x) * np.log1p(255 * np.abs(x)) / np.log1p(255)
    # G.711 stores the magnitude complemented; the top bit ends up 1 for positive samples.
    q = np.clip(np.round(np.abs(y) * 127), 0, 127).astype(np.uint8)
    return (q ^ np.where(y >= 0, 0xFF, 0x7F).astype(np.uint8)).tobytes()


def test_stereo_44k_wav_becomes_16k_mono() -> None:
    rate = 44_100
    left = (tone(1.5, 440.0, rate) * 32767).astype("<i2")
    stereo = np.stack([left, left], axis=1).reshape(-1)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(stereo.tobytes())
    audio = codecs.decode(buf.getvalue(), "wav")
    assert audio.seconds == pytest.approx(1.5, abs=0.01)
    assert peak_frequency(audio) == pytest.approx(440.0, abs=2.0)


def test_over_sixty_seconds_is_too_large() -> None:
    long = codecs.encode(codecs.from_samples(tone(61.0)), "mp3")  # small file, long audio
    assert len(long) < codecs.MAX_BYTES
    with pytest.raises(AudioTooLarge) as err:
        codecs.decode(long)
    assert err.value.status == 413
    with pytest.raises(AudioTooLarge):
        codecs.decode(b"\0" * (2 * SAMPLE_RATE * 61), "pcm16k")
    with pytest.raises(AudioTooLarge):
        codecs.decode(b"\xff" * (8_000 * 61), "ulaw8k")
    # Just under the limit is fine.
    assert codecs.decode(b"\0" * (2 * SAMPLE_RATE * 59), "pcm16k").seconds == 59.0


def test_over_ten_megabytes_is_too_large() -> None:
    with pytest.raises(AudioTooLarge):
        codecs.decode(b"RIFF" + b"\0" * codecs.MAX_BYTES)


@pytest.mark.parametrize(
    "data,hint",
    [
        (b"this is not audio at all " * 40, None),
        (bytes(range(256)) * 20, "mp3"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "wav"),
        (b"", None),
        (b"\x01\x02\x03", "pcm16k"),  # odd byte count cannot be 16-bit samples
        (codecs.encode(codecs.from_samples(tone(0.5)), "wav"), "flac-ish"),
    ],
)
def test_garbage_and_unknown_formats_are_unsupported(data: bytes, hint) -> None:
    with pytest.raises(UnsupportedAudio) as err:
        codecs.decode(data, hint)
    assert err.value.status == 415


def test_async_wrappers_do_not_block_the_loop() -> None:
    audio = codecs.from_samples(tone(30.0))

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.create_task(ticker())
        data = await codecs.encode_async(audio, "mp3")
        back = await codecs.decode_async(data)
        task.cancel()
        assert back.seconds == pytest.approx(30.0, abs=0.1)
        return ticks

    assert asyncio.run(main()) > 3


def test_a_wrong_container_hint_still_decodes() -> None:
    # Platforms mislabel: a WeChat "amr" that is really MP3 is probed, not rejected.
    mp3 = codecs.encode(codecs.from_samples(tone(1.0)), "mp3")
    audio = codecs.decode(mp3, "amr")
    assert audio.seconds == pytest.approx(1.0, abs=0.05)
