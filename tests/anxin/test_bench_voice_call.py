"""``anxin bench voice --stack``: its pure pieces, and one short real run through the CLI.

The real run starts the real stack (Rasa, action server, voice channel with the default
Whisper model and espeak-ng), calls it over the WebSocket and appends its table to a
temporary file with ``--write``. Only the structure is asserted: timings belong in the
benchmark, never in a test.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from anxin.bench.voice_call import (
    FRAME_BYTES,
    SINGLE,
    booking_day,
    booking_turns,
    command_line,
    speech_pcm,
)
from anxin.bench.voice_call_report import (
    TurnTiming,
    VoiceCallResult,
    append,
    format_table,
    percentile,
    stages,
    verdict,
)
from voice.tts import EdgeSynthesizer

ROOT = Path(__file__).resolve().parents[2]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # unsorted on purpose
    assert percentile(values, 50) == 5.0
    assert percentile(values, 95) == 10.0
    assert percentile(values, 90) == 9.0
    assert percentile([0.7], 95) == 0.7
    with pytest.raises(ValueError):
        percentile([], 50)


def _result(*firsts: float) -> VoiceCallResult:
    turns = [
        TurnTiming("single", "Hello", "Hello.", ["Hi!"], 1.0 + f / 10, 1.1 + f / 10, f)
        for f in firsts
    ]
    turns.append(TurnTiming("booking", "Yes please", "The", []))  # never answered
    return VoiceCallResult(
        "base",
        0.9,
        turns,
        ready_s=41.0,
        seconds=100.0,
        cpu_s={"rasa": 12.0, "actions": 0.6},
        other_cores=1.25,
        load=(4.0, 5.0),
        bookings_expected=2,
        bookings_said=1,
        bookings_in_db=1,
    )


def test_stages_split_an_answered_turn_and_skip_an_unanswered_one() -> None:
    split = stages(TurnTiming("single", "x", "x", [], 2.0, 2.5, 2.6), silence_s=0.9)
    assert split is not None
    assert [round(s, 2) for s in split] == [1.1, 0.5, 0.1]
    assert stages(TurnTiming("single", "x"), 0.9) is None


def test_verdict_against_issue_5_targets() -> None:
    assert verdict(_result(1.0, 1.1, 1.2)).startswith("meets")
    assert verdict(_result(1.0, 1.1, 2.1)).startswith("misses")  # p95 over 2 s
    assert verdict(_result(1.3, 1.3, 1.3)).startswith("misses")  # p50 over 1.2 s
    assert verdict(VoiceCallResult("base", 0.9)) == "no turn was answered with speech"


def test_table_shows_percentiles_split_bookings_and_load(tmp_path: Path) -> None:
    text = format_table(_result(1.0, 2.0, 3.0), "anxin bench voice --stack", "2 cores", "abc1234")
    assert "`anxin bench voice --stack` at commit abc1234" in text
    assert "| first reply audio byte | 2.00 s | 3.00 s | 3.00 s |" in text
    assert "| VAD silence window (fixed) | 0.90 s |" in text
    assert "| Rasa turn with actions (replies − transcript) | 0.10 s |" in text
    assert "Answered with speech: 3/4 turns" in text
    assert 'Lunch booking calls: 2, answered "booked": 1, confirmed in the database: 1' in text
    assert "rasa 3.00 s, actions 0.15 s" in text  # CPU per turn: 12 s / 4 turns
    assert "1.25 cores busy with other work, load average 4.0 → 5.0" in text
    assert "misses issue 5's target" in text
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n", encoding="utf-8")
    append(out, text)
    append(out, text)
    assert out.read_text(encoding="utf-8").count("## Voice call") == 2


def test_command_line_spells_out_what_differs_from_the_defaults() -> None:
    assert command_line(None, 5045, 5095, len(SINGLE), 3, None) == "anxin bench voice --stack"
    assert command_line("tiny.en", 1, 2, 1, 0, "x.md") == (
        "anxin bench voice --stack --model tiny.en --singles 1 --bookings 0 "
        "--rasa-port 1 --actions-port 2 --write x.md"
    )


def test_bookings_are_for_a_weekday_two_or_more_days_ahead_said_by_name() -> None:
    assert booking_day(date(2026, 11, 25)) == date(2026, 11, 27)  # Wednesday → Friday
    assert booking_day(date(2026, 11, 26)) == date(2026, 11, 30)  # Thursday → Monday
    assert booking_turns(date(2026, 11, 30), "Mary")[0].endswith("lunch for Monday")
    assert booking_turns(date(2026, 11, 30), "Mary")[2] == "My name is Mary"


def test_speech_ends_at_its_last_voiced_frame() -> None:
    pcm, voiced = speech_pcm("Hello")
    frames = -(-len(pcm) // FRAME_BYTES)
    assert 10 < voiced <= frames  # espeak-ng's "Hello" lasts well over 0.2 s


def test_the_offline_voice_can_be_forced_and_a_wrong_engine_is_refused() -> None:
    import asyncio

    synth = EdgeSynthesizer(env={"ANXIN_TTS_ENGINE": "espeak"})
    assert synth.offline

    async def speak() -> int:
        return sum([len(a.pcm) async for a in synth.synthesize("Hello there.", "en")])

    assert asyncio.run(speak()) > 16_000  # speech, from espeak-ng
    assert synth.switches == 0  # edge-tts was never tried, so never "went offline"
    assert not EdgeSynthesizer(env={}).offline
    with pytest.raises(SystemExit, match="ANXIN_TTS_ENGINE"):
        EdgeSynthesizer(env={"ANXIN_TTS_ENGINE": "festival"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_one_short_real_call_through_the_stack_is_measured_and_written(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n", encoding="utf-8")
    rasa, actions = free_port(), free_port()
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "bench", "voice", "--stack", "--singles", "2",
         "--bookings", "0", "--rasa-port", str(rasa), "--actions-port", str(actions),
         "--write", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Both calls were heard (the transcript shown) and answered with speech.
    assert "'What services do you have' → heard 'What services" in done.stdout, done.stdout
    assert "'I feel lonely today' → heard 'I feel lonely" in done.stdout, done.stdout
    written = out.read_text(encoding="utf-8")
    assert written.startswith("# Benchmarks\n")
    [table] = re.findall(r"## Voice call.*", written, flags=re.S)
    assert table.strip() in done.stdout  # what is printed is what is written
    assert f"--rasa-port {rasa} --actions-port {actions} --write {out}" in table
    assert re.search(r"at commit [0-9a-f]{7,}", table)
    assert "Answered with speech: 2/2 turns" in table
    assert re.search(r"\| first reply audio byte \| \d+\.\d\d s \| \d+\.\d\d s \|", table)
    assert re.search(r"\| Rasa turn with actions \(replies − transcript\) \| \d", table)
    assert re.search(r"Server CPU per turn: (rasa|actions) \d", table)
    assert "load average" in table and ("cores busy with other work" in table)
