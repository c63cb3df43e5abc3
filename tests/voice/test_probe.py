"""The header check before any decoder: fixed malformed vectors are refused with their
reason, and what people's phones and our own encoders make passes."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.audio_vectors import CRASHED_PYAV, MALFORMED, REFUSED
from voice import codecs, probe
from voice.base import AudioTooLarge, UnsupportedAudio

from .conftest import tone


def test_every_committed_vector_is_listed():
    files = [p.name for p in MALFORMED.iterdir() if p.suffix in (".wav", ".ogg", ".amr", ".mp3")]
    assert sorted(files) == sorted(REFUSED)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_malformed_headers_are_refused_with_their_reason(name):
    data = (MALFORMED / name).read_bytes()
    assert len(data) <= 3_100  # small, like the upload that took the service down
    for hint in (None, Path(name).suffix.lstrip("."), "ogg", "amr"):  # a hint changes nothing
        with pytest.raises(UnsupportedAudio) as refused:
            probe.check(data, hint)
        assert REFUSED[name] in str(refused.value), str(refused.value)
        assert refused.value.status == 415


@pytest.mark.parametrize("name", CRASHED_PYAV)
def test_without_the_header_check_the_decoder_still_never_decodes_a_stream_it_has_no_codec_for(
    name,
):
    # The second layer, alone: ffmpeg opens these with the demuxer forced and finds no
    # decoder. Run in a child process, since a missing guard is a segfault, not an error.
    code = (
        "import sys\n"
        "from voice import codecs\n"
        "from voice.base import UnsupportedAudio\n"
        "try:\n"
        "    codecs.decode_container(open(sys.argv[1], 'rb').read(), 'wav')\n"
        "except UnsupportedAudio as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(MALFORMED / name)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "no decoder for this audio"


def _wav(samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def _float_wav(samples: np.ndarray, rate: int, bits: int = 32) -> bytes:
    data = samples.astype("<f4" if bits == 32 else "<f8").tobytes()
    block = bits // 8
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * block, block, bits)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data))
    return b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data


def _extensible_wav(samples: np.ndarray, rate: int) -> bytes:
    data = samples.astype("<i2").tobytes()
    tail = bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHIH", 0xFFFE, 1, rate, rate * 2, 2, 16, 22, 16, 4, 1) + tail
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    return b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data


def _webm(audio) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="webm") as out:
        stream = out.add_stream("libopus" if "libopus" in av.codecs_available else "opus",
                                rate=48_000, layout="mono")  # fmt: skip
        for frame in codecs._frames(audio, stream.format.name, 48_000):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _m4a(audio) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="ipod") as out:
        stream = out.add_stream("aac", rate=16_000, layout="mono")
        for frame in codecs._frames(audio, stream.format.name, 16_000):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def good_files() -> dict[str, tuple[bytes, str]]:
    """What phones, browsers and our own encoders make: name → (bytes, the kind found)."""
    audio = codecs.from_samples(tone(1.0))
    pcm = (tone(1.0, rate=44_100) * 20_000).astype("<i2")
    files = {
        "wav 16-bit 16 kHz (ours)": (codecs.encode(audio, "wav"), "wav"),
        "wav 16-bit stereo 44.1 kHz": (_wav(np.repeat(pcm, 2), 44_100, channels=2), "wav"),
        "wav 8-bit 8 kHz": (_wav((tone(1.0, rate=8_000) * 100 + 128).astype("u1"), 8_000,
                                 width=1), "wav"),  # fmt: skip
        "wav float32": (_float_wav(tone(1.0), 16_000), "wav"),
        "wav float64": (_float_wav(tone(1.0), 16_000, bits=64), "wav"),
        "wav extensible PCM": (_extensible_wav((tone(1.0) * 20_000).astype("<i2"), 16_000),
                               "wav"),  # fmt: skip
        "mp3 with ID3 (ours)": (codecs.encode(audio, "mp3"), "mp3"),
        "amr-nb (WeChat)": (codecs.encode(audio, "amr"), "amr"),
        "ogg opus (Telegram)": (codecs.encode(audio, "ogg_opus"), "ogg"),
        "webm opus (a browser)": (_webm(audio), "webm"),
        "m4a aac (a phone)": (_m4a(audio), "mp4"),
    }
    return files


@pytest.mark.parametrize("name", sorted(good_files()))
def test_what_people_and_we_make_passes_and_decodes(name):
    data, kind = good_files()[name]
    assert probe.check(data).kind == kind
    assert codecs.decode(data).seconds == pytest.approx(1.0, abs=0.1)


def test_a_streamed_wav_with_placeholder_sizes_passes():
    # espeak-ng --stdout cannot go back to write its sizes: RIFF and data say ~2 GB.
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is not installed (.ci/run installs it)"
    data = subprocess.run([exe, "--stdout", "hello"], capture_output=True, check=True).stdout
    assert struct.unpack_from("<I", data, 4)[0] > len(data)
    assert probe.check(data).kind == "wav"
    assert codecs.decode(data, "wav").seconds > 0.3


def test_a_headerless_mp3_passes_only_as_mp3():
    audio = codecs.from_samples(tone(1.0))
    mp3 = codecs.encode(audio, "mp3")
    size = int.from_bytes(bytes(b & 0x7F for b in mp3[6:10]), "big")
    frames = mp3[10 + size :]  # the ID3 tag cut off: frames from byte 0
    assert probe.check(frames).kind == "mp3"
    assert probe.check(b"\0\0" + frames, "mp3").kind == "mp3"  # a little junk first
    with pytest.raises(UnsupportedAudio):
        probe.check(b"\0\0" + frames)  # without the hint, nothing says it is audio


def test_a_wav_header_saying_over_a_minute_is_too_large_before_decoding():
    header = _wav(np.zeros(16, dtype="<i2"), 8_000)
    # data size says 61 s at 8 kHz, and the bytes are there
    data = bytearray(header[:40]) + struct.pack("<I", 61 * 16_000) + bytes(61 * 16_000)
    with pytest.raises(AudioTooLarge):
        probe.check(bytes(data))


def test_garbage_is_not_audio():
    for data in (b"hello world" * 10, bytes(range(256)) * 4, b"\x1a\x45\xdf\xa3" + b"\0" * 40,
                 b"\0\0\0\x08ftyp", b"RIFF\x10\0\0\0WAVEjunkjunk"):  # fmt: skip
        with pytest.raises(UnsupportedAudio):
            probe.check(data)
