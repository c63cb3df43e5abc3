"""People's audio decoded in decoder processes: the same audio as in-process, and a decoder
that crashes, hangs or runs out of memory costs that one audio a 415, never the caller.

Every decoder here is a real child process (``python -m voice.decode_worker``); the
crashes are real signals and a real address-space limit, not stand-ins.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.audio_vectors import CRASHED_PYAV, MALFORMED, REFUSED
from voice import codecs
from voice.base import AudioTooLarge, DecoderUnavailable, UnsupportedAudio
from voice.isolated import DecoderSettings, IsolatedDecoder

from .conftest import peak_frequency, tone

FORMATS = ("wav", "mp3", "amr", "ogg_opus")


@pytest.fixture
def decoder():
    d = IsolatedDecoder(DecoderSettings(workers=2, timeout_s=10.0))
    yield d
    d.close()


def gone(pid: int, timeout: float = 10.0) -> bool:
    """The process ended and was reaped (no /proc entry, or a zombie no longer running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in "ZX":
            return True
        time.sleep(0.02)
    return False


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_decoder_process_gives_what_the_server_would_have(decoder, fmt):
    data = codecs.encode(codecs.from_samples(tone(2.0, 440.0)), fmt)
    audio = decoder.decode(data, fmt)
    assert audio.pcm == codecs.decode(data, fmt).pcm
    assert peak_frequency(audio) == pytest.approx(440.0, abs=2.0)


def test_it_is_a_fresh_interpreter_holding_nothing_of_the_server(decoder, tmp_path, monkeypatch):
    # Things a server holds (a database file, a listening socket, secrets in its
    # environment): none may be inherited.
    db = open(tmp_path / "anxin.db", "wb")  # noqa: SIM115
    listening = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setenv("ANXIN_TELEGRAM_TOKEN", "123:secret")
    try:
        decoder.warm()
        [pid] = decoder.pids()
        assert cmdline(pid)[1:3] == ["-m", "voice.decode_worker"]
        fds = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        assert str(tmp_path / "anxin.db") not in fds
        sockets = [f for f in fds if f.startswith("socket:")]
        assert len(sockets) == 1  # only its own end of the socket pair
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith(b"ANXIN_")]  # no secrets, no DB URL
        limits = Path(f"/proc/{pid}/limits").read_text()
        address = next(line for line in limits.splitlines() if "address space" in line)
        assert "unlimited" not in address
        core = next(line for line in limits.splitlines() if "core file size" in line)
        assert core.split()[4:6] == ["0", "0"]  # people's audio never lands in a core file
    finally:
        db.close()
        listening.close()


def test_it_stays_up_for_the_next_turn(decoder):
    data = codecs.encode(codecs.from_samples(tone(1.0)), "wav")
    decoder.decode(data, "wav")
    first = decoder.pids()
    for _ in range(3):
        decoder.decode(data, "wav")
    assert decoder.pids() == first


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_malformed_vectors_are_refused_before_any_decoder_runs(decoder, name):
    with pytest.raises(UnsupportedAudio) as refused:
        decoder.decode((MALFORMED / name).read_bytes(), "wav")
    assert REFUSED[name] in str(refused.value)
    assert decoder.pids() == []  # refused from the header: no decoder was needed


def test_a_decoder_killed_mid_decode_costs_that_audio_a_415_and_is_replaced(decoder):
    data = codecs.encode(codecs.from_samples(tone(1.0)), "wav")
    decoder.warm()
    [pid] = decoder.pids()
    os.kill(pid, signal.SIGSTOP)  # busy for as long as we like: then it dies mid-decode
    threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
    started = time.monotonic()
    with pytest.raises(UnsupportedAudio) as refused:
        decoder.decode(data, "wav")
    assert time.monotonic() - started < 5  # noticed when it died, not at the time limit
    assert refused.value.status == 415 and "could not be decoded" in str(refused.value)
    assert gone(pid)
    assert decoder.decode(data, "wav").seconds == pytest.approx(1.0)  # a fresh one
    assert decoder.pids() != [pid]


def test_a_decoder_that_hangs_is_killed_at_the_time_limit(tmp_path):
    decoder = IsolatedDecoder(DecoderSettings(workers=1, timeout_s=1.0))
    try:
        data = codecs.encode(codecs.from_samples(tone(1.0)), "wav")
        decoder.warm()
        [pid] = decoder.pids()
        os.kill(pid, signal.SIGSTOP)  # a decode that never ends
        started = time.monotonic()
        with pytest.raises(UnsupportedAudio, match="took too long"):
            decoder.decode(data, "wav")
        assert 0.9 < time.monotonic() - started < 5
        assert gone(pid)  # killed, not left stopped
        assert decoder.decode(data, "wav").seconds == pytest.approx(1.0)
    finally:
        decoder.close()


def test_a_decoder_that_died_while_idle_is_replaced_without_a_word(decoder):
    data = codecs.encode(codecs.from_samples(tone(1.0)), "mp3")
    decoder.warm()
    [pid] = decoder.pids()
    os.kill(pid, signal.SIGKILL)
    assert gone(pid)
    assert decoder.decode(data, "mp3").seconds == pytest.approx(1.0, abs=0.05)


def test_a_decode_over_the_memory_limit_is_refused_and_the_caller_lives():
    # A minute of MP3 is 60 KB; decoded and resampled it needs a few MB more than the
    # decoder process holds after start-up. With 1 MB allowed, its allocations fail.
    long = codecs.encode(codecs.from_samples(tone(59.0)), "mp3")
    tight = IsolatedDecoder(DecoderSettings(workers=1, memory_mb=1))
    roomy = IsolatedDecoder(DecoderSettings(workers=1))
    try:
        with pytest.raises(UnsupportedAudio) as refused:
            tight.decode(long, "mp3")
        assert refused.value.status == 415
        assert roomy.decode(long, "mp3").seconds == pytest.approx(59.0, abs=0.1)
    finally:
        tight.close()
        roomy.close()


def test_over_a_minute_is_too_large_from_the_decoder_too(decoder):
    long = codecs.encode(codecs.from_samples(tone(61.0)), "mp3")  # only decoding tells
    with pytest.raises(AudioTooLarge):
        decoder.decode(long, "mp3")
    assert decoder.decode(codecs.encode(codecs.from_samples(tone(1.0)), "wav"), "wav")


def test_raw_telephony_audio_is_converted_here_without_a_decoder(decoder):
    pcm = codecs.from_samples(tone(1.0))
    assert decoder.decode(pcm.pcm, "pcm16k") == pcm
    ulaw = codecs.encode(pcm, "ulaw8k")
    assert decoder.decode(ulaw, "ulaw8k").seconds == pytest.approx(1.0)
    assert decoder.pids() == []


def test_a_turn_waits_for_a_free_decoder_then_gets_503():
    decoder = IsolatedDecoder(DecoderSettings(workers=1, timeout_s=1.5, wait_s=1.0))
    data = codecs.encode(codecs.from_samples(tone(1.0)), "wav")
    try:
        decoder.warm()
        [pid] = decoder.pids()
        os.kill(pid, signal.SIGSTOP)
        with ThreadPoolExecutor(2) as pool:
            stuck = pool.submit(decoder.decode, data, "wav")
            time.sleep(0.2)  # the first holds the only decoder, stopped, for 1.5 s
            with pytest.raises(DecoderUnavailable) as busy:  # none free within 1 s
                decoder.decode(data, "wav")
            assert busy.value.status == 503
            time.sleep(0.1)
            waiting = pool.submit(decoder.decode, data, "wav")  # frees at 1.5 s: in time
            with pytest.raises(UnsupportedAudio):
                stuck.result(10)
            # It got the fresh decoder, and its audio was decoded in full time: waiting
            # in the queue never turns into a 415 for good audio.
            assert waiting.result(10).seconds == pytest.approx(1.0)
    finally:
        decoder.close()


def test_a_forked_server_starts_its_own_decoders(decoder):
    data = codecs.encode(codecs.from_samples(tone(0.5)), "wav")
    decoder.warm()
    [parents] = decoder.pids()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # as a Sanic worker forked after the decoder started
        try:
            decoder.decode(data, "wav")
            os.write(write, str(decoder.pids()[0]).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = int(os.read(read, 64) or b"0")
    os.close(read)
    assert theirs and theirs != parents
    assert gone(theirs)  # it ended with the process that started it
    assert decoder.pids() == [parents] and decoder.decode(data, "wav").seconds == 0.5


def test_the_crashing_vectors_never_reach_a_decoder_process_even_mislabelled(decoder):
    for name in CRASHED_PYAV:
        for hint in ("amr", "ogg", "mp3", None):
            with pytest.raises(UnsupportedAudio):
                decoder.decode((MALFORMED / name).read_bytes(), hint)
    assert decoder.pids() == []
