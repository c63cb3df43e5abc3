"""Audio in and out of Anxin's one internal format (16 kHz mono s16le PCM).

Every channel hands us bytes in its platform's format — WAV or MP3 uploads, AMR-NB from
WeChat, OGG/Opus voice notes from Telegram, raw 8 kHz μ-law or 16-bit PCM from telephony —
and :func:`decode` resamples them once, here. :func:`encode` makes the platform's format
for replies. PyAV's bundled ffmpeg does the codec work; it blocks, so async callers use
:func:`decode_async` / :func:`encode_async`, which run it in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Iterator, Optional

import av
import numpy as np

from voice.base import SAMPLE_RATE, SAMPLE_WIDTH, Audio, AudioTooLarge, UnsupportedAudio

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_SECONDS = 60.0

# Raw telephony streams carry no header, so the caller names them; ffmpeg needs the
# demuxer name, rate and channel count spelled out.
RAW_FORMATS = {
    "ulaw8k": ("mulaw", 8_000),
    "pcm16k": ("s16le", 16_000),
}
# Hints a channel may give for container formats; None lets ffmpeg probe, which also
# covers a wrong or missing hint (a WeChat "amr" that is really MP3 still decodes).
CONTAINER_HINTS = {"wav", "mp3", "amr", "ogg", "ogg_opus", "opus", "oga", "webm", "m4a"}

ENCODE_FORMATS = ("wav", "mp3", "amr", "ogg_opus", "ulaw8k", "pcm16k")


def decode(data: bytes, fmt_hint: Optional[str] = None) -> Audio:
    """Any supported input → 16 kHz mono PCM; raises AudioTooLarge / UnsupportedAudio."""
    if len(data) > MAX_BYTES:
        raise AudioTooLarge(f"audio is {len(data)} bytes, over {MAX_BYTES}")
    if not data:
        raise UnsupportedAudio("empty audio")
    hint = (fmt_hint or "").lower().lstrip(".") or None
    if hint in RAW_FORMATS:
        return _decode_raw(data, hint)
    if hint is not None and hint not in CONTAINER_HINTS:
        raise UnsupportedAudio(f"unsupported audio format {fmt_hint!r}")
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError) as exc:
        raise UnsupportedAudio("audio could not be decoded") from exc
    with container:
        if not container.streams.audio:
            raise UnsupportedAudio("no audio stream")
        try:
            return _resample_stream(container, container.streams.audio[0])
        except av.error.FFmpegError as exc:
            raise UnsupportedAudio("audio could not be decoded") from exc


def _decode_raw(data: bytes, hint: str) -> Audio:
    fmt, rate = RAW_FORMATS[hint]
    if fmt == "s16le":
        if len(data) % SAMPLE_WIDTH:
            raise UnsupportedAudio("16-bit PCM with an odd number of bytes")
        audio = Audio(data)
        _check_duration(audio.seconds)
        return audio
    # Header-less μ-law: check the length before paying for the decode.
    _check_duration(len(data) / rate)
    container = av.open(
        io.BytesIO(data), mode="r", format=fmt, options={"sample_rate": str(rate), "ac": "1"}
    )
    with container:
        return _resample_stream(container, container.streams.audio[0])


def _resample_stream(container: av.container.InputContainer, stream: av.AudioStream) -> Audio:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    limit = int(MAX_SECONDS * SAMPLE_RATE) * SAMPLE_WIDTH
    out = bytearray()
    for frame in container.decode(stream):
        for resampled in resampler.resample(frame):
            out += _frame_bytes(resampled)
        # Stop as soon as the limit is passed: a 2-hour file is not decoded to the end.
        if len(out) > limit:
            raise AudioTooLarge(f"audio is over {MAX_SECONDS:.0f} s")
    for resampled in resampler.resample(None):
        out += _frame_bytes(resampled)
    if len(out) > limit:
        raise AudioTooLarge(f"audio is over {MAX_SECONDS:.0f} s")
    return Audio(bytes(out))


def _frame_bytes(frame: av.AudioFrame) -> bytes:
    # Packed s16 mono: plane 0 holds the samples, possibly padded past frame.samples.
    return bytes(frame.planes[0])[: frame.samples * SAMPLE_WIDTH]


def _check_duration(seconds: float) -> None:
    if seconds > MAX_SECONDS:
        raise AudioTooLarge(f"audio is {seconds:.1f} s, over {MAX_SECONDS:.0f} s")


# (container format, codec, sample rate, bit rate, container options)
_ENCODERS: dict[str, tuple[str, str, int, Optional[int], dict[str, str]]] = {
    "wav": ("wav", "pcm_s16le", 16_000, None, {}),
    "mp3": ("mp3", "mp3", 16_000, 32_000, {}),
    # WeChat voice uploads are AMR-NB, which is 8 kHz narrowband by definition.
    "amr": ("amr", "amr_nb", 8_000, 12_200, {}),
    # Telegram plays a voice note only when it is Opus in OGG; Opus runs at 48 kHz.
    "ogg_opus": ("ogg", "libopus", 48_000, 24_000, {}),
}


def encode(audio: Audio, fmt: str) -> bytes:
    """16 kHz mono PCM → bytes in ``fmt`` (one of :data:`ENCODE_FORMATS`)."""
    if fmt == "pcm16k":
        return audio.pcm
    if fmt == "ulaw8k":
        return _encode_raw_ulaw(audio)
    if fmt not in _ENCODERS:
        raise UnsupportedAudio(f"cannot encode to {fmt!r}")
    container_fmt, codec, rate, bit_rate, options = _ENCODERS[fmt]
    if codec == "libopus" and codec not in av.codecs_available:
        codec = "opus"  # ffmpeg's native encoder, present when libopus is not bundled
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_fmt, options=options) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.audio.stream.AudioStream)  # an audio codec was named
        if bit_rate:
            stream.bit_rate = bit_rate
        for frame in _frames(audio, stream.format.name, rate):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _frames(audio: Audio, sample_fmt: str, rate: int) -> Iterator[av.AudioFrame]:
    """Our PCM as frames in the encoder's sample format and rate."""
    resampler = av.AudioResampler(format=sample_fmt, layout="mono", rate=rate)
    samples = np.frombuffer(audio.pcm, dtype="<i2")
    chunk = 1_600  # 100 ms at 16 kHz; the encoder re-frames as it needs
    pts = 0
    for start in range(0, len(samples), chunk):
        part = samples[start : start + chunk]
        frame = av.AudioFrame.from_ndarray(part.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        pts += len(part)
        yield from resampler.resample(frame)
    yield from resampler.resample(None)


def _encode_raw_ulaw(audio: Audio) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mulaw") as out:
        stream = out.add_stream("pcm_mulaw", rate=8_000, layout="mono")
        for frame in _frames(audio, stream.format.name, 8_000):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


async def decode_async(data: bytes, fmt_hint: Optional[str] = None) -> Audio:
    return await asyncio.to_thread(decode, data, fmt_hint)


async def encode_async(audio: Audio, fmt: str) -> bytes:
    return await asyncio.to_thread(encode, audio, fmt)


def from_samples(samples: np.ndarray) -> Audio:
    """Float samples in -1..1 at 16 kHz → Audio (clipped); used by synthesis and tests."""
    clipped = np.clip(samples, -1.0, 1.0)
    return Audio((clipped * 32767.0).astype("<i2").tobytes())


def to_samples(audio: Audio) -> np.ndarray:
    """Audio → float32 samples in -1..1, the form faster-whisper takes."""
    return np.frombuffer(audio.pcm, dtype="<i2").astype(np.float32) / 32768.0
