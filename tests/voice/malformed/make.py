"""Writes the malformed audio files beside it: ``python tests/voice/malformed/make.py``.

Each is small (at most ~3 kB, like the upload that took the service down) and has one
thing wrong in its header; README.md says what, and what happened to it before the header
check (three of them crashed the process inside PyAV). The files are committed, so the
tests read fixed bytes; this script only says how they were made.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
# 3000 bytes of a quiet 440 Hz tone, 16-bit mono: plausible samples behind a lying header.
PCM = b"".join(
    struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(1500)
)
# KSDATAFORMAT_SUBTYPE_* after the format tag
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def chunk(name: bytes, body: bytes) -> bytes:
    return name + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt(tag=1, ch=1, rate=16000, bits=16, block=None, brate=None, extra=b"") -> bytes:
    block = ch * bits // 8 if block is None else block
    brate = rate * block if brate is None else brate
    return struct.pack("<HHIIHH", tag, ch, rate, brate, block, bits) + extra


def riff(*chunks: bytes, size=None, magic=b"RIFF") -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return magic + struct.pack("<I", len(body) if size is None else size) + body


def wav(**kw) -> bytes:
    return riff(chunk(b"fmt ", fmt(**kw)), chunk(b"data", PCM))


def ogg_first_page(packet: bytes) -> bytes:
    # capture, version 0, "beginning of stream", granule/serial/sequence/CRC left at 0
    return b"OggS\x00\x02" + b"\0" * 20 + bytes([1, len(packet)]) + packet


EXTENSIBLE = struct.pack("<HHI", 22, 16, 4) + struct.pack("<H", 0x55) + GUID_TAIL

FILES = {
    "float_16bit.wav": wav(tag=3, bits=16),
    "pcm_0bit.wav": wav(bits=0, block=2),
    "unknown_format_tag.wav": wav(tag=0x63),
    "alaw_16bit.wav": wav(tag=6, bits=16),
    "zero_channels.wav": wav(ch=0, block=2),
    "huge_channel_count.wav": wav(ch=1000),
    "rate_zero.wav": wav(rate=0, brate=32000),
    "block_align_lies.wav": wav(block=7),
    "byte_rate_zero.wav": wav(brate=0),
    "extensible_unknown_subformat.wav": riff(
        chunk(b"fmt ", fmt(tag=0xFFFE, extra=EXTENSIBLE)), chunk(b"data", PCM)
    ),
    "truncated_header.wav": wav()[:30],
    "riff_size_lies.wav": riff(chunk(b"fmt ", fmt()), chunk(b"data", PCM), size=4),
    "fmt_after_data.wav": riff(chunk(b"data", PCM), chunk(b"fmt ", fmt())),
    "two_fmt_chunks.wav": riff(
        chunk(b"fmt ", fmt()), chunk(b"fmt ", fmt(tag=3, bits=16)), chunk(b"data", PCM)
    ),
    "no_data_chunk.wav": riff(
        chunk(b"fmt ", fmt()), chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 4) + b"any\0")
    ),
    "empty_data.wav": riff(chunk(b"fmt ", fmt()), chunk(b"data", b"")),
    "big_endian_rifx.wav": riff(chunk(b"fmt ", fmt()), chunk(b"data", PCM), magic=b"RIFX"),
    "ogg_not_audio.ogg": ogg_first_page(b"\x80theora" + b"\0" * 35),
    "opus_six_channels_stereo_mapping.ogg": ogg_first_page(
        b"OpusHead\x01\x06\x38\x01\x80\xbb\0\0\0\0\x00"
    ),
    "amr_bad_frame.amr": b"#!AMR\n" + b"\xff" * 64,
    "mp3_id3_past_end.mp3": b"ID3\x03\x00\x00\x00\x00\x7f\x7f" + b"\0" * 100,
}

if __name__ == "__main__":
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
