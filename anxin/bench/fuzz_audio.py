"""Malformed audio for ``anxin bench fuzz``: files that lie about what they hold (pure).

Each vector is a name and bytes, built from a seed. The WAV header is written field by
field so any field can lie: a format tag for float samples with 16 bits per sample, or 0
bits per sample (both made PyAV's decoder crash the whole server process when this
bench was written), chunk lengths longer than the file, zero or 65,535 channels, a rate
of 0 or 4 GHz. Containers that are not WAV are their magic bytes followed by noise.
Bodies stay small except the one over the voice channel's 10 MB limit.
"""

from __future__ import annotations

import random
import struct
from typing import Callable

PCM, FLOAT, ALAW, MULAW, MP3_IN_WAV, EXTENSIBLE = 1, 3, 6, 7, 0x55, 0xFFFE
OVER_LIMIT = 10 * 1024 * 1024 + 1  # the voice channel takes at most 10 MB


def wav(
    fmt_tag: int = PCM,
    channels: int = 1,
    rate: int = 16_000,
    bits: int = 16,
    data: bytes = b"",
    block_align: int | None = None,
    byte_rate: int | None = None,
    data_len: int | None = None,
    riff_len: int | None = None,
    fmt_extra: bytes = b"",
    before_data: bytes = b"",
) -> bytes:
    """A RIFF/WAVE file whose every header field can be set, true or not."""
    block = block_align if block_align is not None else max(0, channels * bits // 8) & 0xFFFF
    per_s = byte_rate if byte_rate is not None else (rate * block) & 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", fmt_tag & 0xFFFF, channels & 0xFFFF, rate & 0xFFFFFFFF,
                      per_s & 0xFFFFFFFF, block & 0xFFFF, bits & 0xFFFF) + fmt_extra  # fmt: skip
    size = len(data) if data_len is None else data_len
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + before_data
        + b"data"
        + struct.pack("<I", size & 0xFFFFFFFF)
        + data
    )
    riff = len(body) if riff_len is None else riff_len
    return b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + body


def _noise(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


def _quiet(n: int) -> bytes:
    return bytes(n)


def _extensible(sub_format: bytes) -> bytes:
    # cbSize 22, valid bits, channel mask, then the 16-byte sub-format GUID
    return struct.pack("<HHI", 22, 16, 4) + sub_format


# name → builder(rng) → bytes. The names are the report's variants; keep them short.
VECTORS: dict[str, Callable[[random.Random], bytes]] = {
    "wav-float-16bit": lambda r: wav(FLOAT, bits=16, data=_noise(r, 3000)),
    "wav-0-bits": lambda r: wav(PCM, bits=0, block_align=1, data=_noise(r, 3000)),
    "wav-float-0-bits": lambda r: wav(FLOAT, bits=0, block_align=1, data=_noise(r, 3000)),
    "wav-float-8bit": lambda r: wav(FLOAT, bits=8, data=_noise(r, 3000)),
    "wav-pcm-7bit": lambda r: wav(PCM, bits=7, data=_noise(r, 3000)),
    "wav-pcm-64bit": lambda r: wav(PCM, bits=64, data=_noise(r, 3000)),
    "wav-pcm-65535bit": lambda r: wav(PCM, bits=0xFFFF, data=_noise(r, 3000)),
    "wav-alaw-16bit": lambda r: wav(ALAW, bits=16, data=_noise(r, 3000)),
    "wav-mulaw-0-bits": lambda r: wav(MULAW, bits=0, block_align=1, data=_noise(r, 3000)),
    "wav-mp3-tag-noise": lambda r: wav(MP3_IN_WAV, bits=0, data=_noise(r, 3000)),
    "wav-tag-0": lambda r: wav(0, data=_noise(r, 3000)),
    "wav-tag-ffff": lambda r: wav(0xFFFF, data=_noise(r, 3000)),
    "wav-extensible-float-16bit": lambda r: wav(
        EXTENSIBLE,
        bits=16,
        data=_noise(r, 3000),
        fmt_extra=_extensible(b"\x03\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"),
    ),  # fmt: skip
    "wav-extensible-bad-guid": lambda r: wav(
        EXTENSIBLE, bits=16, data=_noise(r, 3000), fmt_extra=_extensible(r.randbytes(16))
    ),
    "wav-extensible-short": lambda r: wav(
        EXTENSIBLE, bits=16, data=_noise(r, 3000), fmt_extra=b"\x16\x00"
    ),  # fmt: skip
    "wav-0-channels": lambda r: wav(channels=0, data=_noise(r, 3000)),
    "wav-65535-channels": lambda r: wav(channels=0xFFFF, data=_noise(r, 3000)),
    "wav-rate-0": lambda r: wav(rate=0, data=_noise(r, 3000)),
    "wav-rate-1": lambda r: wav(rate=1, data=_noise(r, 3000)),
    "wav-rate-4ghz": lambda r: wav(rate=0xFFFFFFFF, data=_noise(r, 3000)),
    "wav-block-align-0": lambda r: wav(block_align=0, data=_noise(r, 3000)),
    "wav-block-align-huge": lambda r: wav(block_align=0xFFFF, data=_noise(r, 3000)),
    "wav-byte-rate-0": lambda r: wav(byte_rate=0, data=_noise(r, 3000)),
    "wav-data-len-lies": lambda r: wav(data=_noise(r, 3000), data_len=0xFFFFFFF0),
    "wav-riff-len-lies": lambda r: wav(data=_noise(r, 3000), riff_len=0xFFFFFFFF),
    "wav-riff-len-0": lambda r: wav(data=_noise(r, 3000), riff_len=0),
    "wav-odd-data": lambda r: wav(data=_noise(r, 3001)),
    "wav-no-data-chunk": lambda r: wav(data=b"")[:-8],
    "wav-fmt-len-0": lambda r: (
        b"RIFF\x24\x00\x00\x00WAVEfmt \x00\x00\x00\x00data\x04\x00\x00\x00" + _noise(r, 4)
    ),
    "wav-fmt-len-huge": lambda r: b"RIFF\xff\xff\xff\x7fWAVEfmt \xff\xff\xff\x7f" + _noise(r, 64),
    "wav-many-chunks": lambda r: wav(
        data=_noise(r, 320), before_data=b"".join(b"junk\x00\x00\x00\x00" for _ in range(3000))
    ),
    "wav-truncated-header": lambda r: wav(data=_noise(r, 3000))[: r.randrange(1, 44)],
    "wav-header-only": lambda r: wav(data=b"", data_len=32000),
    "wav-61s-of-silence": lambda r: wav(rate=8000, bits=8, data=_quiet(8000 * 61)),
    "wav-valid-silence": lambda r: wav(data=_quiet(16000)),
    "wav-valid-noise": lambda r: wav(data=_noise(r, 16000)),  # speech-like: transcribed
    "ogg-magic-noise": lambda r: b"OggS\x00\x02" + _noise(r, 4000),
    "ogg-opus-head-lies": lambda r: (
        b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\xff" + _noise(r, 400)
    ),
    "amr-magic-noise": lambda r: b"#!AMR\n" + _noise(r, 4000),
    "amr-wb-magic-noise": lambda r: b"#!AMR-WB\n" + _noise(r, 4000),
    "mp3-id3-noise": lambda r: b"ID3\x04\x00\x00\x00\x00\x00\x21" + _noise(r, 4000),
    "mp3-sync-noise": lambda r: b"\xff\xfb\x90\x64" + _noise(r, 4000),
    "flac-magic-noise": lambda r: b"fLaC" + _noise(r, 4000),
    "webm-magic-noise": lambda r: b"\x1a\x45\xdf\xa3" + _noise(r, 4000),
    "mp4-ftyp-noise": lambda r: b"\x00\x00\x00\x20ftypM4A " + _noise(r, 4000),
    "random-bytes": lambda r: _noise(r, r.randrange(1, 8000)),
    "one-byte": lambda r: _noise(r, 1),
    "zero-length": lambda r: b"",
    "text-not-audio": lambda r: b'{"message": "hello"}',
    "over-10mb": lambda r: wav(data=_quiet(OVER_LIMIT)),
}

# Vectors that are real audio the server should take: they cost a decode (and, for
# noise, a transcription), so the generator picks them rarely.
COSTLY = frozenset({"wav-valid-noise", "wav-61s-of-silence", "over-10mb"})


def vector(name: str, rng: random.Random) -> bytes:
    return VECTORS[name](rng)


def pick(rng: random.Random) -> str:
    """A vector name; the costly ones about one time in twenty."""
    if rng.random() < 0.05:
        return rng.choice(sorted(COSTLY))
    return rng.choice(sorted(set(VECTORS) - COSTLY))
