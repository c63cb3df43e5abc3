"""What ``anxin bench voice --stack`` measured, and its Markdown table (pure: no I/O but --write).

Each spoken turn is timed from the caller's end of speech (the last voiced 20 ms frame
sent) to what the call's WebSocket shows: ``transcript`` (the VAD's silence window plus
the transcription), ``replies`` (plus Rasa's turn with its actions) and the first
binary frame of reply speech (plus the offline voice's first sentence and one 0.1 s
frame). The split of the first event is an estimate: the VAD fires ``silence_s`` after
the end of speech, give or take a 20 ms window.
"""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence


@dataclasses.dataclass
class TurnTiming:
    kind: str  # "single" (a one-turn call) or "booking" (a turn of a lunch booking call)
    said: str
    heard: str = ""  # the transcript
    replies: list[str] = dataclasses.field(default_factory=list)
    transcript_s: Optional[float] = None  # end of speech → transcript event
    replies_s: Optional[float] = None  # end of speech → replies event
    audio_s: Optional[float] = None  # end of speech → first reply audio byte

    @property
    def answered(self) -> bool:
        return self.audio_s is not None


@dataclasses.dataclass
class VoiceCallResult:
    model: str
    silence_s: float  # the VAD's end-of-turn window (ANXIN_VOICE_SILENCE_S)
    turns: list[TurnTiming] = dataclasses.field(default_factory=list)
    ready_s: float = 0.0
    seconds: float = 0.0  # wall time of the measured calls
    cpu_s: dict[str, float] = dataclasses.field(default_factory=dict)  # per server
    other_cores: Optional[float] = None  # cores the rest of the machine kept busy meanwhile
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average before and after
    bookings_expected: int = 0  # booking calls made
    bookings_said: int = 0  # ... whose "yes" was answered "booked"
    bookings_in_db: int = 0  # confirmed meal bookings of the bench's callers
    notes: list[str] = dataclasses.field(default_factory=list)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (the value at or above pct % of the sorted values)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats going wrong
    return ordered[int(min(rank, len(ordered))) - 1]


def stages(turn: TurnTiming, silence_s: float) -> Optional[tuple[float, float, float]]:
    """(transcription, Rasa turn, voice to first frame) of an answered turn; the first
    is the transcript's time less the VAD's silence window."""
    if turn.transcript_s is None or turn.replies_s is None or turn.audio_s is None:
        return None
    return (
        max(0.0, turn.transcript_s - silence_s),
        turn.replies_s - turn.transcript_s,
        turn.audio_s - turn.replies_s,
    )


def _row(name: str, values: Sequence[float]) -> str:
    if not values:
        return f"| {name} | – | – | – |"
    return (
        f"| {name} | {percentile(values, 50):.2f} s | {percentile(values, 95):.2f} s "
        f"| {max(values):.2f} s |"
    )


def verdict(result: VoiceCallResult, p50_target: float = 1.2, p95_target: float = 2.0) -> str:
    firsts = [t.audio_s for t in result.turns if t.audio_s is not None]
    if not firsts:
        return "no turn was answered with speech"
    p50, p95 = percentile(firsts, 50), percentile(firsts, 95)
    ok = p50 <= p50_target and p95 <= p95_target
    return (
        f"{'meets' if ok else 'misses'} issue 5's target (p50 ≤ {p50_target} s, "
        f"p95 ≤ {p95_target} s): p50 {p50:.2f} s, p95 {p95:.2f} s"
    )


def format_table(result: VoiceCallResult, command: str, cpu: str, commit: str) -> str:
    answered = [t for t in result.turns if t.answered]
    split = [s for s in (stages(t, result.silence_s) for t in answered) if s is not None]
    turns = len(result.turns)
    busy = (
        f"{result.other_cores:.2f} cores busy with other work"
        if result.other_cores is not None
        else "other load not measurable"
    )
    per_turn = {n: s / max(1, turns) for n, s in result.cpu_s.items()}
    lines = [
        f"## Voice call, end of speech → first reply audio, through Rasa, on {cpu}",
        "",
        f"`{command}` at commit {commit}, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}. "
        f"Real stack (Rasa + action server + voice channel, throwaway SQLite), Whisper "
        f"{result.model}, offline voice espeak-ng (ANXIN_TTS_ENGINE=espeak). {turns} turns "
        "of English spoken by espeak-ng at 120 wpm, sent over `/webhooks/voice/stream` as "
        "real-time 20 ms PCM frames followed by line silence; the server's VAD ends each "
        f"turn after {result.silence_s:.2f} s of quiet (ANXIN_VOICE_SILENCE_S).",
        "",
        "| end of speech → | p50 | p95 | max |",
        "|---|---|---|---|",
        _row("first reply audio byte", [t.audio_s for t in answered if t.audio_s is not None]),
        _row(
            "transcript event (VAD window + STT)",
            [t.transcript_s for t in answered if t.transcript_s is not None],
        ),  # fmt: skip
        _row(
            "replies event (+ Rasa turn)",
            [t.replies_s for t in answered if t.replies_s is not None],
        ),  # fmt: skip
        "",
        "| stage (per turn) | p50 | p95 | max |",
        "|---|---|---|---|",
        f"| VAD silence window (fixed) | {result.silence_s:.2f} s | {result.silence_s:.2f} s "
        f"| {result.silence_s:.2f} s |",
        _row("transcription (transcript − window)", [s[0] for s in split]),
        _row("Rasa turn with actions (replies − transcript)", [s[1] for s in split]),
        _row("offline voice, first sentence + 0.1 s frame", [s[2] for s in split]),
        "",
        f"Answered with speech: {len(answered)}/{turns} turns. Lunch booking calls: "
        f'{result.bookings_expected}, answered "booked": {result.bookings_said}, confirmed '
        f"in the database: {result.bookings_in_db}.",
        "Server CPU per turn: "
        + (", ".join(f"{n} {s:.2f} s" for n, s in per_turn.items()) or "–")
        + f"; meanwhile {busy}, load average {result.load[0]:.1f} → {result.load[1]:.1f} "
        f"over {result.seconds:.0f} s; stack ready in {result.ready_s:.0f} s.",
        "",
        verdict(result),
        "",
    ]
    return "\n".join(lines)


def format_turns(result: VoiceCallResult) -> str:
    """One line per turn: what was said, heard and answered (for the terminal, not the file)."""
    out = []
    for t in result.turns:
        first = f"{t.audio_s:.2f} s" if t.audio_s is not None else "no speech back"
        reply = " / ".join(t.replies)[:80]
        out.append(f"- [{t.kind}] {t.said!r} → heard {t.heard!r} → {first}: {reply}")
    return "\n".join(out)


def commit_of(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write("\n" + text)
