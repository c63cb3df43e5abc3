"""What ``anxin bench dialogue`` says to each bot, and how Anxin's bookings went.

The scripts (the stock bot's chat, Anxin's lunch booking in Chinese and English),
the plan of whole conversations for a run, and the outcome of each booking read
from the bot's answer to the "yes".
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Sequence

from anxin.bench.rest import Script, Turn
from anxin.bench.servers import BenchError

# The stock bot's domain: greet, mood_unhappy, affirm, bot_challenge, goodbye.
STOCK_SCRIPT = ("hello", "I am sad", "yes", "are you a bot?", "bye")
STOCK_STEPS = ("greet", "sad", "yes", "bot?", "bye")

ANXIN_STEPS = ("greet", "book", "name", "confirm", "list", "thanks")
# (Chinese, English) ways of naming a day; the ones that land on a lunch day are used.
DAY_PHRASES = (
    ("明天", "tomorrow"),
    ("后天", "the day after tomorrow"),
    ("下周一", "next monday"),
    ("下周二", "next tuesday"),
    ("下周三", "next wednesday"),
    ("下周四", "next thursday"),
    ("下周五", "next friday"),
    ("下周六", "next saturday"),
)
NAMES_ZH = ("张桂芬", "李秀兰", "王淑珍", "刘玉梅", "陈德明", "杨凤英", "赵振华", "孙桂英")
NAMES_EN = ("Margaret Brown", "Arthur Wilson", "Dorothy Clarke", "Harold Evans", "Edith Green")

# Responses of action_book_meal (bot/domain.yml) that tell how the booking went.
OUTCOME_RESPONSES = {
    "booked": ("utter_meal_booked",),
    "already booked": ("utter_meal_already_booked",),
    "full": ("utter_meal_full", "utter_meal_full_alternative"),
    "closed": ("utter_meal_closed",),
}


# --------------------------------------------------------------------------- scripts


def book_message(day_phrase: str, language: str) -> str:
    if language == "zh":
        return f"帮我订{day_phrase}的午饭在食堂吃"
    return f"book lunch {day_phrase} at the canteen"


def anxin_script(k: int, days: Sequence[tuple[str, str]], sender: str) -> Script:
    """Conversation number k: Chinese for even k, English for odd, days taken in turn."""
    if not days:
        raise ValueError("no day to book lunch on")
    zh_day, en_day = days[(k // 2) % len(days)]
    messages: tuple[str, ...]
    if k % 2 == 0:
        messages = ("你好", book_message(zh_day, "zh"), NAMES_ZH[(k // 2) % len(NAMES_ZH)])
        messages += ("对", "我都约了啥", "谢谢")
    else:
        messages = ("hello", book_message(en_day, "en"), NAMES_EN[(k // 2) % len(NAMES_EN)])
        messages += ("yes", "what have I booked", "thank you")
    return Script(sender, messages)


def stock_script(k: int, sender: str) -> Script:
    """The stock bot's conversation (the same every time; k is there to match anxin_script)."""
    return Script(sender, STOCK_SCRIPT)


def lunch_days(now: datetime, has_lunch: Callable[[date], bool]) -> list[tuple[str, str]]:
    """The day phrases whose Chinese and English booking messages mean the same lunch day.

    Resolved with care.when, as the NLU's WhenExtractor resolves them; ``has_lunch``
    says whether the canteen serves lunch that day (no Sundays, no holidays).
    """
    from care.when import parse_when

    usable = []
    for zh, en in DAY_PHRASES:
        day = parse_when(book_message(zh, "zh"), now).date
        if day is not None and parse_when(book_message(en, "en"), now).date == day:
            if has_lunch(day):
                usable.append((zh, en))
    return usable


def plan(
    messages: int,
    concurrency: int,
    script_length: int,
    make: Callable[[int], Script],
) -> tuple[list[Script], list[list[Script]]]:
    """Whole conversations for ~``messages`` messages: sequential, then per concurrent client.

    Conversations are numbered across both runs; in the concurrent run client c's
    j-th conversation is number ``j * concurrency + c``, so the first round
    already mixes languages and days.
    """
    sequential_n = max(1, math.ceil(messages / script_length))
    per_client = max(1, math.ceil(messages / concurrency / script_length))
    sequential = [make(k) for k in range(sequential_n)]
    clients = [
        [make(sequential_n + j * concurrency + c) for j in range(per_client)]
        for c in range(concurrency)
    ]
    return sequential, clients


# --------------------------------------------------------------------------- outcomes


def outcome_markers(bot_dir: Path) -> dict[str, tuple[str, ...]]:
    """Outcome → the fixed start of each of its response texts (before any ``{slot}``).

    Read from every YAML file under ``bot_dir`` that has ``responses`` (one
    domain.yml or a domain/ directory of them).
    """
    import yaml

    responses: dict[str, list[dict[str, object]]] = {}
    for file in sorted(bot_dir.rglob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("responses"), dict):
            responses.update(data["responses"])
    markers: dict[str, tuple[str, ...]] = {}
    for outcome, names in OUTCOME_RESPONSES.items():
        texts = [str(v.get("text", "")) for name in names for v in responses.get(name, [])]
        markers[outcome] = tuple(t.split("{", 1)[0].strip() for t in texts if t.strip())
    if not markers["booked"]:
        raise BenchError(f"no utter_meal_booked response under {bot_dir}")
    return markers


def classify(reply: str, markers: dict[str, tuple[str, ...]]) -> str:
    """How the booking went, from the bot's answer to the "yes" (``other`` if unrecognised).

    Longer markers first: "fully booked. There is still room" is full, not booked.
    """
    ranked = sorted(
        ((m, outcome) for outcome, ms in markers.items() for m in ms if m),
        key=lambda pair: -len(pair[0]),
    )
    for marker, outcome in ranked:
        if marker in reply:
            return outcome
    return "other"


def outcomes(
    turns: Sequence[Turn], confirm_step: int, markers: dict[str, tuple[str, ...]]
) -> tuple[Counter[str], list[list[Turn]]]:
    """Outcome counts per conversation, and the transcripts of the unrecognised ones."""
    by_sender: dict[str, list[Turn]] = {}
    for t in turns:
        by_sender.setdefault(t.sender, []).append(t)
    counts: Counter[str] = Counter()
    odd: list[list[Turn]] = []
    for conv in by_sender.values():
        conv.sort(key=lambda t: t.step)
        confirm = [t for t in conv if t.step == confirm_step]
        outcome = classify(confirm[0].reply_text, markers) if confirm else "not reached"
        counts[outcome] += 1
        if outcome not in ("booked", "full"):
            odd.append(conv)
    return counts, odd
