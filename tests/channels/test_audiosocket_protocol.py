"""The AudioSocket wire format and caller registration, with fixed byte vectors."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import numpy as np
import pytest

from channels import audiosocket_protocol as wire
from channels.audiosocket_callers import (
    BadRegistration,
    Caller,
    CallerRegistry,
    RedisCallerRegistry,
    Registration,
    identify,
    normalise,
    parse_registration,
    same_number,
    secret_of,
    secret_ok,
)
from channels.config import AudioSocketSettings

CALL = uuid.UUID("40325ec2-5efd-4bd3-805f-53576e581d13")
REDIS_URL = os.environ.get("ANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
    one = {same_number(n, "86") for n in ("+86 138-0013-8000", "0086 13800138000",
                                           "13800138000", "013800138000")}  # fmt: skip
    assert one == {"13800138000"}
    assert same_number("+44 20 7946 0000", "86") == "+442079460000"  # abroad stays abroad
    assert same_number("020 7946 0000", "44") == same_number("+44 20 7946 0000", "44")
    assert same_number("13800138001", "86") != same_number("13800138000", "86")


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


def test_a_registration_serves_one_call_and_expires():
    async def check() -> None:
        registry = CallerRegistry(ttl_s=60, limit=2)
        await registry.register(Registration(CALL, "13800138000"))
        assert await registry.take(CALL) == "13800138000"
        assert await registry.take(CALL) is None  # once
        calls = [uuid.uuid4() for _ in range(3)]
        for call in calls:
            await registry.register(Registration(call, "13800138000"))
        assert await registry.take(calls[0]) is None  # the oldest went past the limit
        assert await registry.take(calls[2]) == "13800138000"
        short = CallerRegistry(ttl_s=0)
        await short.register(Registration(CALL, "13800138000"))
        assert await short.take(CALL) is None

    asyncio.run(check())


def test_registrations_in_redis_are_shared_by_processes_and_taken_once():
    """The real Redis of this machine (.ci/run starts it), under a prefix of its own."""
    prefix = f"test{uuid.uuid4().hex[:8]}"

    async def check() -> None:
        here = RedisCallerRegistry(REDIS_URL, prefix, ttl_s=60)
        there = RedisCallerRegistry(REDIS_URL, prefix, ttl_s=60)  # another Rasa process
        other_centre = RedisCallerRegistry(REDIS_URL, prefix + "x", ttl_s=60)
        try:
            await here.register(Registration(CALL, "+8613800138000"))
            assert await other_centre.take(CALL) is None
            assert await there.take(CALL) == "+8613800138000"
            assert await here.take(CALL) is None  # taken once
            withheld = uuid.uuid4()
            await here.register(Registration(withheld, None))
            assert await there.take(withheld) is None
            quick = RedisCallerRegistry(REDIS_URL, prefix, ttl_s=1)
            await quick.register(Registration(CALL, "13800138000"))
            await asyncio.sleep(1.5)
            assert await there.take(CALL) is None  # expired
            await quick.close()
        finally:
            for registry in (here, there, other_centre):
                await registry.close()

    asyncio.run(check())


def test_settings_from_the_environment():
    assert AudioSocketSettings.from_env({}) is None  # off unless a port is set
    on = AudioSocketSettings.from_env({"ANXIN_AUDIOSOCKET_PORT": "9092"})
    assert on == AudioSocketSettings(port=9092, host="127.0.0.1", secret=None, country="86")
    assert on.redis_url is None
    full = AudioSocketSettings.from_env(
        {"ANXIN_AUDIOSOCKET_PORT": "9092", "ANXIN_AUDIOSOCKET_HOST": "10.0.0.5",
         "ANXIN_AUDIOSOCKET_SECRET": "abc", "ANXIN_PHONE_COUNTRY": "+44"}
    )  # fmt: skip
    assert full is not None and (full.host, full.secret, full.country) == ("10.0.0.5", "abc", "44")
    for bad in ({"ANXIN_AUDIOSOCKET_PORT": "http"}, {"ANXIN_AUDIOSOCKET_PORT": "70000"},
                {"ANXIN_AUDIOSOCKET_PORT": "9092", "ANXIN_PHONE_COUNTRY": "uk"}):  # fmt: skip
        with pytest.raises(SystemExit):
            AudioSocketSettings.from_env(bad)


def test_a_caller_number_is_the_elder_whose_profile_has_it(care):
    """On SQLite and the real PostgreSQL: the profile's phone as staff typed it."""
    mary = care.people.create("elder", "Mary Jones", phone="+86 138-0013-8000",
                              preferred_language="en")  # fmt: skip
    care.people.create("family", "Her Son", phone="13900000000")  # not an elder: not matched
    first = identify(care, CALL, "13800138000", "86")
    assert first == Caller(sender="13800138000", name="Mary Jones", language="en")
    # The number is now her voice identity: what she books by phone is hers.
    assert care.people.find_by_identity("voice", "13800138000").id == mary.id
    assert identify(care, uuid.uuid4(), "13800138000", "86") == first
    assert identify(care, CALL, "+8613800138001", "86") == Caller(sender="+8613800138001")
    assert identify(care, CALL, "13900000000", "86") == Caller(sender="13900000000")
    assert identify(care, CALL, None, "86") == Caller(sender=f"as-{CALL.hex}")
