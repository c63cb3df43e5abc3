"""Audio in and out of Anxin's one internal format (16 kHz mono s16le PCM).

Every channel hands us bytes in its platform's format — WAV or MP3 uploads, AMR-NB from
WeChat, OGG/Opus voice notes from Telegram, raw 8 kHz μ-law or 16-bit PCM from telephony —
and :func:`decode` resamples them once, here. :func:`encode` makes the platform's format
for replies. PyAV's bundled ffmpeg does the codec work; it blocks, so async callers use
:func:`decode_async` / :func:`encode_async`, which run it in a worker thread.

Containers are checked before ffmpeg sees them (voice/probe.py), opened with the demuxer
the check named (never probed into something else), and decoded only when ffmpeg found a
decoder we take for the stream: without one PyAV has no codec context and crashes the
process. :func:`decode` runs here, in the caller's process, and is for audio we made or
fetched ourselves (speech synthesis, tests, benchmarks). Audio from people — uploads,
voice notes, WeChat voice — goes through voice/isolated.py, which runs the same
:func:`decode_container` in a separate process under time and memory limits. Raw
telephony audio never reaches a demuxer: 16-bit PCM is taken as it is and μ-law is
expanded by table in numpy (:func:`decode_raw`), so both are safe in any process.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Iterator, Optional

import av
import numpy as np

from voice import probe
from voice.base import SAMPLE_RATE, SAMPLE_WIDTH, Audio, AudioTooLarge, UnsupportedAudio

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_SECONDS = probe.MAX_SECONDS

# Raw telephony streams carry no header, so the caller names them (with their rate).
RAW_FORMATS = {
    "ulaw8k": ("mulaw", 8_000),
    "pcm16k": ("s16le", 16_000),
}
# Hints a channel may give for container formats; the bytes' magic decides the container
# (a WeChat "amr" that is really MP3 still decodes), the hint only admits a headerless MP3.
CONTAINER_HINTS = {"wav", "mp3", "amr", "ogg", "ogg_opus", "opus", "oga", "webm", "m4a"}
# The decoders a stream may need (ffmpeg's names). Anything else ffmpeg finds in a
# container that passed the header check (video, subtitles, an exotic codec) is refused.
DECODERS = frozenset(
    {
        "pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le",
        "pcm_alaw", "pcm_mulaw",
        "mp1", "mp1float", "mp2", "mp2float", "mp3", "mp3float",
        "amrnb", "amrwb", "libopencore_amrnb", "libopencore_amrwb",
        "opus", "libopus", "vorbis", "libvorbis", "aac", "alac", "flac",
    }
)  # fmt: skip

ENCODE_FORMATS = ("wav", "mp3", "amr", "ogg_opus", "ulaw8k", "pcm16k")


def normalise_hint(data: bytes, fmt_hint: Optional[str]) -> Optional[str]:
    """The size limits and the hint, checked before any decoding: the hint in lower case
    without a dot, None when there is none; AudioTooLarge / UnsupportedAudio."""
    if len(data) > MAX_BYTES:
        raise AudioTooLarge(f"audio is {len(data)} bytes, over {MAX_BYTES}")
    if not data:
        raise UnsupportedAudio("empty audio")
    hint = (fmt_hint or "").lower().lstrip(".") or None
    if hint is not None and hint not in RAW_FORMATS and hint not in CONTAINER_HINTS:
        raise UnsupportedAudio(f"unsupported audio format {fmt_hint!r}")
    return hint


def decode(data: bytes, fmt_hint: Optional[str] = None) -> Audio:
    """Any supported input → 16 kHz mono PCM, in this process; raises AudioTooLarge /
    UnsupportedAudio. For audio we made or fetched ourselves: people's audio goes
    through ``voice.isolated.IsolatedDecoder``."""
    hint = normalise_hint(data, fmt_hint)
    if hint in RAW_FORMATS:
        return decode_raw(data, hint)
    return decode_container(data, probe.check(data, hint).demuxer)


def decode_raw(data: bytes, hint: str) -> Audio:
    """Header-less telephony audio: nothing here parses a header or calls a demuxer."""
    fmt, rate = RAW_FORMATS[hint]
    if fmt == "s16le":
        if len(data) % SAMPLE_WIDTH:
            raise UnsupportedAudio("16-bit PCM with an odd number of bytes")
        audio = Audio(data)
        _check_duration(audio.seconds)
        return audio
    # Header-less μ-law: check the length before paying for the decode.
    _check_duration(len(data) / rate)
    samples = _ULAW[np.frombuffer(data, dtype=np.uint8)]
    return Audio(_resample_pcm(samples, rate))


def _ulaw_table() -> np.ndarray:
    """G.711 μ-law byte → 16-bit sample, as ffmpeg's pcm_mulaw decoder expands it."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype("<i2")


_ULAW = _ulaw_table()


def _resample_pcm(samples: np.ndarray, rate: int) -> bytes:
    """Our own mono 16-bit samples at ``rate`` → 16 kHz (ffmpeg's resampler: it reads
    sample values only, never a header)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    out = bytearray()
    chunk = rate // 10
    for start in range(0, len(samples), chunk):
        part = np.ascontiguousarray(samples[start : start + chunk])
        frame = av.AudioFrame.from_ndarray(part.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        for resampled in resampler.resample(frame):
            out += _frame_bytes(resampled)
    for resampled in resampler.resample(None):
        out += _frame_bytes(resampled)
    return bytes(out)


def decode_container(data: bytes, demuxer: str) -> Audio:
    """A container that passed ``probe.check``, opened with the demuxer it named."""
    try:
        container = av.open(io.BytesIO(data), mode="r", format=demuxer)
    except (av.error.FFmpegError, ValueError) as exc:
        raise UnsupportedAudio("audio could not be decoded") from exc
    with container:
        stream = _audio_stream(container)
        try:
            return _resample_stream(container, stream)
        except av.error.FFmpegError as exc:
            raise UnsupportedAudio("audio could not be decoded") from exc


def _audio_stream(container: av.container.InputContainer) -> av.AudioStream:
    """The first audio stream, if ffmpeg has a decoder we take for it and its channels and
    rate are sane. A stream without a codec context must never be decoded: PyAV
    dereferences it in C."""
    if not container.streams.audio:
        raise UnsupportedAudio("no audio stream")
    stream = container.streams.audio[0]
    context = stream.codec_context
    if context is None:
        raise UnsupportedAudio("no decoder for this audio")
    if context.name not in DECODERS:
        raise UnsupportedAudio(f"audio coded as {context.name} is not taken")
    channels = context.layout.nb_channels if context.layout is not None else 0
    if not 1 <= channels <= probe.MAX_CHANNELS:
        raise UnsupportedAudio(f"audio with {channels} channels")
    if not probe.MIN_RATE <= context.sample_rate <= probe.MAX_RATE:
        raise UnsupportedAudio(f"audio at {context.sample_rate} Hz")
    return stream


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
