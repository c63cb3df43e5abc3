"""The AudioSocket wire format and caller registration, with fixed byte vectors."""

from __future__ import annotations

import asyncio
import json
import uuid

import numpy as np
import pytest

from channels import audiosocket_protocol as wire
from channels.audiosocket_callers import (
    BadRegistration,
    CallerRegistry,
    Registration,
    normalise,
    parse_registration,
    secret_of,
    secret_ok,
    variants,
)
from channels.config import AudioSocketSettings

CALL = uuid.UUID("40325ec2-5efd-4bd3-805f-53576e581d13")


def frames(data: bytes) -> list[wire.Frame | None]:
    """Every message ``read_frame`` finds in ``data``, then what it says at the end."""

    async def read() -> list[wire.Frame | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        found: list[wire.Frame | None] = []
        while True:
            frame = await wire.read_frame(reader)
            found.append(frame)
            if frame is None:
                return found

    return asyncio.run(read())


def test_messages_are_kind_then_big_endian_length_then_payload():
    assert wire.hangup() == b"\x00\x00\x00"
    assert wire.uuid_frame(CALL) == bytes.fromhex("010010") + CALL.bytes
    assert wire.dtmf_frame("5") == b"\x03\x00\x015"
    assert wire.audio_frame(b"\x01\x02" * 160) == b"\x10\x01\x40" + b"\x01\x02" * 160
    assert wire.encode(0xFF, b"\x02") == b"\xff\x00\x01\x02"
    with pytest.raises(ValueError):
        wire.encode(wire.AUDIO, bytes(0x10000))


def test_reading_a_stream_of_messages():
    data = bytes.fromhex("010010") + CALL.bytes + b"\x10\x00\x04\x01\x00\xff\xff"
    data += b"\x03\x00\x01#" + b"\x12\x00\x02\x10\x00" + b"\x00\x00\x00"
    found = frames(data)
    assert found == [
        wire.Frame(wire.UUID, CALL.bytes),
        wire.Frame(wire.AUDIO, b"\x01\x00\xff\xff"),
        wire.Frame(wire.DTMF, b"#"),
        wire.Frame(0x12, b"\x10\x00"),
        wire.Frame(wire.HANGUP, b""),
        None,
    ]
    assert wire.call_id(found[0]) == CALL  # type: ignore[arg-type]
    assert wire.audio_of(found[1]) == (b"\x01\x00\xff\xff", 8000)  # type: ignore[arg-type]
    assert wire.audio_of(found[3]) == (b"\x10\x00", 16000)  # type: ignore[arg-type]
    assert wire.key_of(found[2]) == "#"  # type: ignore[arg-type]


def test_a_line_that_drops_mid_message_is_a_hang_up_not_an_error():
    assert frames(b"") == [None]
    assert frames(b"\x10\x01") == [None]  # half a header
    assert frames(b"\x10\x01\x40" + bytes(100)) == [None]  # 100 of 320 bytes


def test_broken_messages_are_protocol_errors():
    with pytest.raises(wire.ProtocolError, match="not the call's UUID"):
        wire.call_id(wire.Frame(wire.AUDIO, bytes(320)))  # audio before the UUID
    with pytest.raises(wire.ProtocolError, match="5 bytes"):
        wire.call_id(wire.Frame(wire.UUID, b"abcde"))
    with pytest.raises(wire.ProtocolError, match="not 16-bit"):
        wire.audio_of(wire.Frame(wire.AUDIO, bytes(321)))
    with pytest.raises(wire.ProtocolError, match="DTMF"):
        wire.key_of(wire.Frame(wire.DTMF, b"12"))
    assert wire.key_of(wire.Frame(wire.DTMF, b"x")) is None  # not a key: ignored
    assert wire.error_code(wire.Frame(wire.ERROR, b"\x02")) == "02"
    assert wire.error_code(wire.Frame(wire.ERROR)) == "none"


def test_every_audio_kind_has_its_rate():
    assert [wire.AUDIO_RATES[k] for k in range(0x10, 0x19)] == [
        8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000,
    ]  # fmt: skip


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 8000 * np.sin(2 * np.pi * hz * t)


@pytest.mark.parametrize("rate_in, rate_out", [(8000, 16000), (16000, 8000), (24000, 16000)])
def test_resampling_20ms_messages_leaves_no_seams(rate_in, rate_out):
    samples = tone(rate_in, 1.0).astype("<i2")
    step = rate_in // 50  # 20 ms
    resampler = wire.Resampler(rate_in, rate_out)
    out = b"".join(
        resampler.feed(samples[i : i + step].tobytes()) for i in range(0, samples.size, step)
    )
    got = np.frombuffer(out, dtype="<i2").astype(np.float64)
    assert abs(got.size - rate_out) <= 2  # one second in, one second out
    # Going down averages two neighbours: the result lags half an input sample.
    lag = 0.5 * rate_out / rate_in if rate_in > rate_out else 0
    expected = 8000 * np.sin(2 * np.pi * 440 * (np.arange(got.size) - lag) / rate_out)
    # Linear interpolation of a 440 Hz tone: within 3% of full scale everywhere,
    # message boundaries included (a seam would be a jump of thousands).
    assert np.max(np.abs(got - expected)[4:]) < 0.03 * 32768


def test_resampling_keeps_odd_bytes_and_equal_rates_intact():
    same = wire.Resampler(8000, 8000)
    assert same.feed(b"\x01\x00\x02\x00") == b"\x01\x00\x02\x00"
    up = wire.Resampler(8000, 16000)
    assert up.feed(b"\x01") == b""  # less than a sample waits for nothing


def test_caller_numbers():
    assert normalise("138 0013-8000") == "13800138000"
    assert normalise("+86 (138) 0013 8000") == "+8613800138000"
    assert normalise("008613800138000") == "+8613800138000"
    for withheld in ("", "anonymous", "Unknown", " private "):
        assert normalise(withheld) is None
    for bad in ("12", "+86abc", "1" * 21, "Robert'); DROP TABLE people;--"):
        with pytest.raises(BadRegistration):
            normalise(bad)
    assert "13800138000" in variants("+8613800138000", "86")
    assert "+8613800138000" in variants("13800138000", "86")
    assert "+8613800138000" in variants("013800138000", "86")
    assert variants("+4420794600", "86") == ["+4420794600", "4420794600"]


def test_registrations_form_encoded_as_asterisk_curl_posts_them_or_json():
    form = f"uuid={CALL}&caller=%2B8613800138000".encode()
    assert parse_registration(None, form) == Registration(CALL, "+8613800138000")
    assert parse_registration("application/x-www-form-urlencoded", form).number is not None
    body = json.dumps({"uuid": str(CALL), "caller": "anonymous"}).encode()
    assert parse_registration("application/json", body) == Registration(CALL, None)
    for content_type, bad in [
        (None, b"caller=138"),
        (None, b"uuid=not-a-uuid&caller=138"),
        ("application/json", b"{nope"),
        ("application/json", b"[1, 2]"),
        (None, b"uuid=\xff\xfe"),
        (None, f"uuid={CALL}&caller=abc".encode()),
    ]:
        with pytest.raises(BadRegistration):
            parse_registration(content_type, bad)


def test_the_shared_secret():
    assert secret_ok("s3cret", "s3cret")
    assert not secret_ok("s3cre", "s3cret")
    assert not secret_ok("", "s3cret")
    assert not secret_ok("anything", None)  # none configured: nobody may register
    assert secret_of(None, b"secret=abc&uuid=x", None) == "abc"
    assert secret_of("application/json", b'{"secret": "abc"}', None) == "abc"
    assert secret_of(None, b"secret=abc", "from-header") == "from-header"
    assert secret_of("application/json", b"{bad", None) == ""


def test_a_registration_serves_one_call_and_expires(monkeypatch):
    registry = CallerRegistry(ttl_s=60, limit=2)
    registry.register(Registration(CALL, "13800138000"))
    assert registry.take(CALL) == "13800138000"
    assert registry.take(CALL) is None  # once
    calls = [uuid.uuid4() for _ in range(3)]
    for call in calls:
        registry.register(Registration(call, "13800138000"))
    assert registry.take(calls[0]) is None  # the oldest went past the limit
    assert registry.take(calls[2]) == "13800138000"
    short = CallerRegistry(ttl_s=0)
    short.register(Registration(CALL, "13800138000"))
    assert short.take(CALL) is None


def test_settings_from_the_environment():
    assert AudioSocketSettings.from_env({}) is None  # off unless a port is set
    on = AudioSocketSettings.from_env({"ANXIN_AUDIOSOCKET_PORT": "9092"})
    assert on == AudioSocketSettings(port=9092, host="127.0.0.1", secret=None, country="86")
    full = AudioSocketSettings.from_env(
        {"ANXIN_AUDIOSOCKET_PORT": "9092", "ANXIN_AUDIOSOCKET_HOST": "10.0.0.5",
         "ANXIN_AUDIOSOCKET_SECRET": "abc", "ANXIN_PHONE_COUNTRY": "+44"}
    )  # fmt: skip
    assert full is not None and (full.host, full.secret, full.country) == ("10.0.0.5", "abc", "44")
    for bad in ({"ANXIN_AUDIOSOCKET_PORT": "http"}, {"ANXIN_AUDIOSOCKET_PORT": "70000"},
                {"ANXIN_AUDIOSOCKET_PORT": "9092", "ANXIN_PHONE_COUNTRY": "uk"}):  # fmt: skip
        with pytest.raises(SystemExit):
            AudioSocketSettings.from_env(bad)
