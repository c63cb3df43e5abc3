"""Is this upload audio we can decode safely? Checked from its header, before any decoder.

Pure Python and the standard library only, so it runs in the server process on any bytes:
nothing here allocates more than the header it reads, loops more than a few dozen times,
or calls into ffmpeg. It refuses what ffmpeg would choke on — above all a stream for which
ffmpeg has no decoder (a WAV saying "float samples at 16 bits" or "0 bits per sample"):
PyAV then has no codec context and the process dies in C, not in Python. What passes is
named (:class:`Container`), and the decoder opens it with that demuxer forced, so the
bytes are read the way they were checked and never probed into something else.

The checks, by container (found by its magic bytes; the caller's hint only decides
between a headerless MP3 and garbage):

- WAV (RIFF/WAVE, little-endian): the ``fmt`` chunk before ``data``, once; a format tag we
  take (PCM, IEEE float, A-law, μ-law, or the extensible form of PCM/float) with the bits
  per sample that tag allows; 1-8 channels; 4-192 kHz; the block align that channels and
  bits make; a byte rate; at least one whole sample frame of data; a RIFF size that does
  not end before its chunks. A RIFF or data size past the end of the file is taken (a
  writer streaming to a pipe, e.g. ``espeak-ng --stdout``, cannot go back to fill it in):
  the data is what is there.
- OGG: a first page that begins a stream, holding an Opus (1-8 channels, mapping family 0
  or 1) or Vorbis (version 0, 1-8 channels, a rate) identification header.
- AMR: the single-channel AMR-NB or AMR-WB magic and a valid first frame header.
- MP3: an ID3v2 tag whose size is well-formed and within the file, then an MPEG audio
  frame header (not a reserved version, layer, bit rate or sample rate).
- WebM/Matroska: the EBML header with a ``webm`` or ``matroska`` doc type, and an Opus or
  Vorbis track.
- MP4/M4A/3GP: an ``ftyp`` box of a sane size.

The decoder still checks what ffmpeg found (a decoder, channels, rate) before decoding,
in a separate process with time and memory limits (voice/isolated.py): this module keeps
the server from handing over what is known to be bad, and says why.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

from voice.base import AudioTooLarge, UnsupportedAudio

MAX_SECONDS = 60.0
MAX_CHANNELS = 8
MIN_RATE, MAX_RATE = 4_000, 192_000
_MAX_CHUNKS = 64  # chunks walked before the data: a real WAV has 2-4

WAVE_PCM, WAVE_FLOAT, WAVE_ALAW, WAVE_MULAW, WAVE_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
# The bits per sample each format tag can have; anything else has no decoder in ffmpeg.
WAVE_BITS = {
    WAVE_PCM: (8, 16, 24, 32),
    WAVE_FLOAT: (32, 64),
    WAVE_ALAW: (8,),
    WAVE_MULAW: (8,),
}
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: the tag, then this fixed GUID tail.
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


@dataclass(frozen=True)
class Container:
    """What the header says: ``kind`` for people, ``demuxer`` for ffmpeg."""

    kind: str  # wav, ogg, amr, mp3, webm, mp4
    demuxer: str  # the ffmpeg input format to force


def _refuse(reason: str) -> UnsupportedAudio:
    return UnsupportedAudio(reason)


def check(data: bytes, hint: Optional[str] = None) -> Container:
    """The container of ``data`` if its header is one we decode; else UnsupportedAudio
    (AudioTooLarge for a WAV whose header says it is over a minute)."""
    if not data:
        raise _refuse("empty audio")
    head = data[:12]
    if head[:4] in (b"RIFF", b"RIFX", b"RF64"):
        if head[:4] != b"RIFF":
            raise _refuse(f"{head[:4].decode()} WAV files are not taken: send a plain WAV")
        return _wav(data)
    if head[:4] == b"OggS":
        return _ogg(data)
    if head.startswith(b"#!AMR"):
        return _amr(data)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _matroska(data)
    if head[4:8] == b"ftyp":
        return _mp4(data)
    if head[:3] == b"ID3" or _frame_header(data, 0) is not None:
        return _mp3(data)
    if hint == "mp3":  # an MP3 with something before its first frame: looked for, briefly
        return _mp3(data)
    raise _refuse("not an audio file we know (WAV, MP3, OGG, AMR, WebM or M4A)")


# WAV --------------------------------------------------------------------------------


def _wav(data: bytes) -> Container:
    if len(data) < 12 or data[8:12] != b"WAVE":
        raise _refuse("a RIFF file that is not WAVE")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size < 4:
        raise _refuse("WAV whose RIFF size is too small")
    riff_end = 8 + riff_size
    fmt: Optional[tuple[int, int, int, int, int, int]] = None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if pos >= len(data):
            raise _refuse("WAV with no data chunk")
        if pos + 8 > len(data):
            raise _refuse("WAV truncated before its data")
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if body > riff_end:
            raise _refuse("WAV whose RIFF size ends before its chunks")
        if chunk == b"fmt ":
            if fmt is not None:
                raise _refuse("WAV with two fmt chunks")
            if size < 16 or body + size > len(data):
                raise _refuse("WAV with a truncated fmt chunk")
            fmt = _wav_format(data[body : body + size])
        elif chunk == b"data":
            if fmt is None:
                raise _refuse("WAV whose data comes before its fmt chunk")
            return _wav_data(data, body, size, fmt)
        elif body + size > len(data):
            raise _refuse("WAV truncated before its data")
        pos = body + size + (size & 1)  # chunks are padded to an even length
    raise _refuse("WAV with too many chunks before its data")


def _wav_format(fmt: bytes) -> tuple[int, int, int, int, int, int]:
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == WAVE_EXTENSIBLE:
        if len(fmt) < 40 or struct.unpack_from("<H", fmt, 16)[0] < 22:
            raise _refuse("extensible WAV with a truncated format")
        valid_bits = struct.unpack_from("<H", fmt, 18)[0]
        sub_tag, tail = struct.unpack_from("<H", fmt, 24)[0], fmt[26:40]
        if tail != _GUID_TAIL or sub_tag not in (WAVE_PCM, WAVE_FLOAT):
            raise _refuse("extensible WAV that is not PCM or float samples")
        if not 0 < valid_bits <= bits:
            raise _refuse(f"extensible WAV with {valid_bits} valid bits of {bits}")
        tag = sub_tag
    if tag not in WAVE_BITS:
        raise _refuse(f"WAV format {tag:#06x} is not taken (PCM, float, A-law or μ-law)")
    if bits not in WAVE_BITS[tag]:
        name = {WAVE_PCM: "PCM", WAVE_FLOAT: "float", WAVE_ALAW: "A-law", WAVE_MULAW: "μ-law"}
        *most, last = (str(b) for b in WAVE_BITS[tag])
        allowed = f"{', '.join(most)} or {last}" if most else last
        raise _refuse(f"WAV {name[tag]} samples of {bits} bits (only {allowed})")
    if not 1 <= channels <= MAX_CHANNELS:
        raise _refuse(f"WAV with {channels} channels (1 to {MAX_CHANNELS})")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise _refuse(f"WAV at {rate} Hz ({MIN_RATE} to {MAX_RATE})")
    if block_align != channels * bits // 8:
        raise _refuse(f"WAV block align {block_align} is not {channels} × {bits} bits")
    if byte_rate == 0:
        raise _refuse("WAV with a byte rate of 0")
    return tag, channels, rate, byte_rate, block_align, bits


def _wav_data(data: bytes, start: int, size: int, fmt: tuple[int, ...]) -> Container:
    _, _, rate, _, block_align, _ = fmt
    present = min(size, len(data) - start)  # a streamed WAV's size is a placeholder
    if present < block_align:
        raise _refuse("WAV with no samples")
    seconds = present / (rate * block_align)
    if seconds > MAX_SECONDS:
        raise AudioTooLarge(f"audio is {seconds:.1f} s, over {MAX_SECONDS:.0f} s")
    return Container("wav", "wav")


# OGG --------------------------------------------------------------------------------


def _ogg(data: bytes) -> Container:
    if len(data) < 27:
        raise _refuse("OGG truncated in its first page")
    version, flags, segments = data[4], data[5], data[26]
    if version != 0:
        raise _refuse(f"OGG version {version}")
    if not flags & 0x02:
        raise _refuse("OGG whose first page does not begin a stream")
    table = data[27 : 27 + segments]
    if len(table) < segments:
        raise _refuse("OGG truncated in its first page")
    length = 0
    for lace in table:  # the first packet: its segments up to one shorter than 255
        length += lace
        if lace < 255:
            break
    packet = data[27 + segments : 27 + segments + length]
    if len(packet) < length:
        raise _refuse("OGG truncated in its first packet")
    if packet.startswith(b"OpusHead"):
        if len(packet) < 19 or packet[8] >> 4 != 0:
            raise _refuse("OGG Opus with an unknown header version")
        channels, family = packet[9], packet[18]
        if not 1 <= channels <= MAX_CHANNELS:
            raise _refuse(f"OGG Opus with {channels} channels")
        if family not in (0, 1) or (family == 0 and channels > 2):
            raise _refuse(f"OGG Opus with channel mapping {family} for {channels} channels")
        return Container("ogg", "ogg")
    if packet.startswith(b"\x01vorbis"):
        if len(packet) < 30:
            raise _refuse("OGG Vorbis with a truncated header")
        version, channels, rate = struct.unpack_from("<IBI", packet, 7)
        if version != 0 or not 1 <= channels <= MAX_CHANNELS or not 0 < rate <= MAX_RATE:
            raise _refuse("OGG Vorbis with an impossible header")
        return Container("ogg", "ogg")
    raise _refuse("OGG that is neither Opus nor Vorbis")


# AMR --------------------------------------------------------------------------------


def _amr(data: bytes) -> Container:
    for magic, frame_types in ((b"#!AMR\n", range(9)), (b"#!AMR-WB\n", range(10))):
        if data.startswith(magic):
            if len(data) <= len(magic):
                raise _refuse("AMR with no frames")
            header = data[len(magic)]
            kind = (header >> 3) & 0x0F
            if header & 0x83 or (kind not in frame_types and kind != 15):
                raise _refuse("AMR whose first frame header is invalid")
            return Container("amr", "amr")
    raise _refuse("AMR that is not single-channel AMR-NB or AMR-WB")


# MP3 --------------------------------------------------------------------------------

_MP3_SCAN = 4096  # bytes looked through for the first frame (after any ID3 tag)


def _frame_header(data: bytes, at: int) -> Optional[tuple[int, int, int]]:
    """(version, layer, rate index) of a valid MPEG audio frame header at ``at``, or None."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[at + 1], data[at + 2], data[at + 3]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate, rate = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 0 or bitrate == 15 or rate == 3 or b3 & 3 == 2:
        return None  # reserved values
    return version, layer, rate


def _mp3(data: bytes) -> Container:
    start = 0
    if data[:3] == b"ID3":
        if len(data) < 10:
            raise _refuse("MP3 truncated in its ID3 tag")
        major, revision, flags = data[3], data[4], data[5]
        size_bytes = data[6:10]
        if not 2 <= major <= 4 or revision == 0xFF or any(b & 0x80 for b in size_bytes):
            raise _refuse("MP3 with a malformed ID3 tag")
        size = 0
        for b in size_bytes:  # "synchsafe": 7 bits a byte
            size = (size << 7) | b
        start = 10 + size + (10 if flags & 0x10 else 0)
        if start >= len(data):
            raise _refuse("MP3 whose ID3 tag runs past its end")
    for at in range(start, min(len(data) - 3, start + _MP3_SCAN)):
        if _frame_header(data, at) is not None:
            return Container("mp3", "mp3")
    raise _refuse("MP3 with no audio frame")


# WebM / Matroska --------------------------------------------------------------------


def _vint(data: bytes, at: int) -> tuple[int, int]:
    """An EBML variable-length integer at ``at``: (value, its length in bytes)."""
    if at >= len(data) or data[at] == 0:
        raise _refuse("WebM with a malformed header")
    first = data[at]
    length = 8 - first.bit_length() + 1
    if at + length > len(data):
        raise _refuse("WebM truncated in its header")
    value = first & (0xFF >> length)
    for b in data[at + 1 : at + length]:
        value = (value << 8) | b
    return value, length


def _matroska(data: bytes) -> Container:
    size, used = _vint(data, 4)
    header = data[4 + used : 4 + used + size]
    if len(header) < size or size > 1024:
        raise _refuse("WebM with a malformed EBML header")
    doc_type = None
    pos = 0
    while pos + 3 <= len(header):  # EBML header children: 2-byte ids, then size and body
        element = header[pos : pos + 2]
        length, used = _vint(header, pos + 2)
        body = header[pos + 2 + used : pos + 2 + used + length]
        if element == b"\x42\x82":
            doc_type = body
        pos += 2 + used + length
    if doc_type not in (b"webm", b"matroska"):
        raise _refuse("EBML file that is not WebM or Matroska")
    tracks = data[: 64 * 1024]
    if b"A_OPUS" not in tracks and b"A_VORBIS" not in tracks:
        raise _refuse("WebM without an Opus or Vorbis track")
    return Container("webm", "matroska")


# MP4 / M4A / 3GP --------------------------------------------------------------------


def _mp4(data: bytes) -> Container:
    (size,) = struct.unpack_from(">I", data, 0)
    if not 12 <= size <= min(len(data), 4096) or not data[8:12].isascii():
        raise _refuse("MP4 with a malformed ftyp box")
    return Container("mp4", "mov")
