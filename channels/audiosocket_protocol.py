"""The Asterisk AudioSocket wire protocol, as bytes: no sockets, testable with fixed vectors.

Every message is ``kind`` (1 byte) + payload length (2 bytes, big-endian) + payload
(https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/):

- ``0x00`` hang up (socket closure means the same);
- ``0x01`` the call's UUID, 16 bytes, always the first message Asterisk sends;
- ``0x03`` a DTMF key, one ASCII byte (Asterisk 20.x/21.x/22.x and later);
- ``0x10`` audio: signed 16-bit little-endian linear PCM, 8 kHz mono (20 ms = 320 bytes);
- ``0x11``-``0x18`` the same at 12, 16, 24, 32, 44.1, 48, 96 and 192 kHz: what a newer
  Asterisk (res_audiosocket with higher sample rates) sends when the channel's format
  is not plain slin;
- ``0xff`` an error, its optional payload an application-specific code.

Asterisk before those versions hangs up on any kind it does not know, so we only ever
send ``0x10`` (8 kHz) and ``0x00``. Kinds we do not know are skipped, so a protocol
extension (one fork sends DTMF as ``0x02``) never ends a call.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from dataclasses import dataclass
from typing import Optional

import numpy as np

HANGUP = 0x00
UUID = 0x01
DTMF = 0x03
AUDIO = 0x10
ERROR = 0xFF

# Audio kinds and the sample rate each one carries.
AUDIO_RATES = {
    0x10: 8_000,
    0x11: 12_000,
    0x12: 16_000,
    0x13: 24_000,
    0x14: 32_000,
    0x15: 44_100,
    0x16: 48_000,
    0x17: 96_000,
    0x18: 192_000,
}
KEYS = frozenset("0123456789*#ABCD")
HEADER = struct.Struct(">BH")
MAX_PAYLOAD = 0xFFFF


class ProtocolError(ValueError):
    """A message that breaks the protocol: the call is closed (the text names no caller)."""


@dataclass(frozen=True)
class Frame:
    kind: int
    payload: bytes = b""


def encode(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"an AudioSocket payload holds at most {MAX_PAYLOAD} bytes")
    return HEADER.pack(kind, len(payload)) + payload


def hangup() -> bytes:
    return encode(HANGUP)


def audio_frame(pcm_8k: bytes) -> bytes:
    return encode(AUDIO, pcm_8k)


def uuid_frame(call: uuid.UUID) -> bytes:
    return encode(UUID, call.bytes)


def dtmf_frame(key: str) -> bytes:
    return encode(DTMF, key.encode("ascii"))


async def read_frame(reader: asyncio.StreamReader) -> Optional[Frame]:
    """The next message; None when the line closed, even in the middle of one (a dropped
    connection is a hang-up, not a protocol error)."""
    try:
        kind, length = HEADER.unpack(await reader.readexactly(HEADER.size))
        payload = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        return None
    return Frame(kind, payload)


def call_id(frame: Frame) -> uuid.UUID:
    """The call's UUID from the first message, which must carry it."""
    if frame.kind != UUID:
        raise ProtocolError(f"first message is kind 0x{frame.kind:02x}, not the call's UUID")
    if len(frame.payload) != 16:
        raise ProtocolError(f"UUID message of {len(frame.payload)} bytes, not 16")
    return uuid.UUID(bytes=frame.payload)


def key_of(frame: Frame) -> Optional[str]:
    """The key of a DTMF message; None for a byte that is no key (ignored, not fatal)."""
    if len(frame.payload) != 1:
        raise ProtocolError(f"DTMF message of {len(frame.payload)} bytes, not 1")
    key = chr(frame.payload[0])
    return key if key in KEYS else None


def audio_of(frame: Frame) -> tuple[bytes, int]:
    """The PCM of an audio message and its sample rate."""
    if len(frame.payload) % 2:
        raise ProtocolError(f"audio message of {len(frame.payload)} bytes: not 16-bit samples")
    return frame.payload, AUDIO_RATES[frame.kind]


def error_code(frame: Frame) -> str:
    """An error message's code as hex (Asterisk's codes: 0x01 hang-up, 0x02 frame
    forwarding, 0x04 memory); "none" without one."""
    return frame.payload.hex() or "none"


class Resampler:
    """16-bit PCM from one rate to another, message by message, with no seams.

    Linear interpolation that carries its position and last samples over from one
    message to the next, so a 20 ms message boundary leaves no click. Speech below
    4 kHz is all that matters on a phone line: going up from 8 kHz needs no filter;
    going down (replies from 16 kHz to 8 kHz) averages neighbours first, a simple
    low-pass against aliasing.
    """

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in, self.rate_out = rate_in, rate_out
        self._step = rate_in / rate_out  # input samples per output sample
        self._pos = 0.0  # where the next output sample falls, in input samples from _tail[0]
        self._tail = np.zeros(0, dtype=np.float64)
        self._width = int(round(self._step)) if self._step > 1 else 1  # samples averaged
        self._raw = np.zeros(self._width - 1, dtype=np.float64)  # the last raw samples

    def feed(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
        if self.rate_in == self.rate_out:
            return samples.astype("<i2").tobytes()
        if self._width > 1 and samples.size:  # going down: average what one sample spans
            padded = np.concatenate([self._raw, samples])
            self._raw = padded[padded.size - (self._width - 1) :]
            samples = np.convolve(padded, np.ones(self._width) / self._width, mode="valid")
        buf = np.concatenate([self._tail, samples])
        if buf.size < 2:
            self._tail = buf
            return b""
        count = int(np.floor((buf.size - 1 - self._pos) / self._step)) + 1
        if count <= 0:
            self._tail = buf
            return b""
        at = self._pos + np.arange(count) * self._step
        out = np.interp(at, np.arange(buf.size), buf)
        next_pos = float(at[-1] + self._step)
        keep = min(int(np.floor(next_pos)), buf.size - 1)
        self._tail, self._pos = buf[keep:], next_pos - keep
        return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()
