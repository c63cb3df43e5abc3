"""The labelled messages ``anxin bench safety`` plays: loading and checking a case file (pure).

A case file is a YAML list (anxin/bench/cases/README.md). Each case::

    - id: zh-emg-fall-001          # unique
      lang: zh                     # zh | en
      expect: emergency            # emergency | possible | crisis | none
      category: fall_injury        # free text: recall is reported per category
      text: "…"                    # the message judged
      context: ["user: …", "bot: …"]   # optional: earlier turns; only the user's are sent
      followups:                   # possible cases only (optional)
        - {text: "…", expect: escalate}   # escalate | close
      note: "…"                    # optional, for the reader

A file that breaks these rules is refused as a whole, with every problem named by case id
(never by the message's text): a benchmark on a half-read set would report figures for a
set nobody wrote.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

DEFAULT_CASES = Path(__file__).with_name("cases") / "safety.yml"

LANGS = ("zh", "en")
EXPECTS = ("emergency", "crisis", "possible", "none")
FOLLOWUP_EXPECTS = ("escalate", "close")
SPEAKERS = ("user", "bot")
REQUIRED = ("id", "lang", "expect", "category", "text")
OPTIONAL = ("context", "followups", "note")
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class CaseError(ValueError):
    """The case file cannot be used; ``problems`` lists each one."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        shown = "; ".join(problems[:20]) + (
            f"; … {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        super().__init__(f"{path}: {shown}")
        self.problems = list(problems)


@dataclass(frozen=True)
class Followup:
    text: str
    expect: str  # escalate | close


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    expect: str
    category: str
    text: str
    context: tuple[tuple[str, str], ...] = ()  # (speaker, words)
    followups: tuple[Followup, ...] = ()

    @property
    def user_context(self) -> tuple[str, ...]:
        """What the person said before the case's message, in order (the bot's lines only
        describe what it asked; the real bot is asked again by these)."""
        return tuple(words for speaker, words in self.context if speaker == "user")


@dataclass(frozen=True)
class CaseSet:
    path: str
    digest: str  # sha256 of the file's bytes, first 12 hex digits: which set was run
    cases: tuple[Case, ...]


def _text(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _context(case_id: str, raw: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{case_id}: context is not a list")
        return ()
    turns = []
    for n, line in enumerate(raw, 1):
        speaker, sep, words = line.partition(":") if isinstance(line, str) else ("", "", "")
        if not sep or speaker.strip() not in SPEAKERS or not words.strip():
            problems.append(f"{case_id}: context line {n} is not 'user: …' or 'bot: …'")
            continue
        turns.append((speaker.strip(), words.strip()))
    return tuple(turns)


def _followups(case_id: str, expect: Any, raw: Any, problems: list[str]) -> tuple[Followup, ...]:
    if raw is None:
        return ()
    if expect != "possible":
        problems.append(f"{case_id}: follow-ups belong to possible cases only")
        return ()
    if not isinstance(raw, list):
        problems.append(f"{case_id}: followups is not a list")
        return ()
    found = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict) or set(item) - {"text", "expect", "note"}:
            problems.append(f"{case_id}: follow-up {n} is not {{text, expect}}")
            continue
        text, fexpect = _text(item.get("text")), item.get("expect")
        if text is None:
            problems.append(f"{case_id}: follow-up {n} has no text")
        elif fexpect not in FOLLOWUP_EXPECTS:
            problems.append(f"{case_id}: follow-up {n} expect is not escalate or close")
        else:
            found.append(Followup(text, str(fexpect)))
    return tuple(found)


def parse_cases(data: Any, path: str = "<cases>") -> tuple[Case, ...]:
    """The cases of a loaded YAML document; CaseError listing every problem."""
    if not isinstance(data, list) or not data:
        raise CaseError(path, ["not a non-empty list of cases"])
    problems: list[str] = []
    cases: list[Case] = []
    ids: Counter[str] = Counter()
    texts: dict[str, str] = {}
    for n, raw in enumerate(data, 1):
        if not isinstance(raw, dict):
            problems.append(f"case {n}: not a mapping")
            continue
        case_id = raw.get("id")
        name = case_id if isinstance(case_id, str) and ID.match(case_id) else f"case {n}"
        if name != case_id:
            problems.append(f"{name}: id missing or not letters, digits, '-', '_', '.'")
        missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
        unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL), key=str)
        if missing:
            problems.append(f"{name}: missing {', '.join(missing)}")
        if unknown:
            problems.append(f"{name}: unknown field(s) {', '.join(map(str, unknown))}")
        lang, expect = raw.get("lang"), raw.get("expect")
        if lang is not None and lang not in LANGS:
            problems.append(f"{name}: lang is not zh or en")
        if expect is not None and expect not in EXPECTS:
            problems.append(f"{name}: expect is not one of {', '.join(EXPECTS)}")
        text, category = _text(raw.get("text")), _text(raw.get("category"))
        if raw.get("text") is not None and text is None:
            problems.append(f"{name}: text is not a non-empty string")
        context = _context(name, raw.get("context"), problems)
        followups = _followups(name, expect, raw.get("followups"), problems)
        ids[name] += 1
        if text is not None:
            if text in texts:
                problems.append(f"{name}: same text as {texts[text]}")
            texts.setdefault(text, name)
        if name == case_id and not missing and not unknown and text and category:
            if lang in LANGS and expect in EXPECTS:
                cases.append(Case(case_id, lang, expect, category, text, context, followups))
    problems += [f"{i}: id used {k} times" for i, k in ids.items() if k > 1]
    if problems:
        raise CaseError(path, problems)
    return tuple(cases)


def load_cases(path: Path) -> CaseSet:
    """A case file read and checked (CaseError when it cannot be used)."""
    import yaml

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError(str(path), [f"cannot be read ({exc.strerror or exc})"]) from None
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CaseError(str(path), [f"not UTF-8 YAML ({type(exc).__name__})"]) from None
    return CaseSet(str(path), hashlib.sha256(raw).hexdigest()[:12], parse_cases(data, str(path)))


def select(
    cases: Sequence[Case], only: Optional[str] = None, limit: Optional[int] = None
) -> list[Case]:
    """The cases of one language (``only``), then ``limit`` of them spread evenly over the
    file (every k-th), so that a short run still sees every kind of case the file has."""
    chosen = [c for c in cases if only is None or c.lang == only]
    if limit is not None and 0 < limit < len(chosen):
        step = len(chosen) / limit
        chosen = [chosen[int(i * step)] for i in range(limit)]
    return chosen


def counts(cases: Sequence[Case]) -> str:
    """Cases by language, expectation and category, for a reader checking a set."""
    lines = [f"{len(cases)} cases, {sum(len(c.followups) for c in cases)} follow-ups"]
    for lang in LANGS:
        by = Counter(c.expect for c in cases if c.lang == lang)
        lines.append(f"  {lang}: " + ", ".join(f"{e} {by[e]}" for e in EXPECTS))
    for expect in EXPECTS:
        by = Counter(c.category for c in cases if c.expect == expect)
        if by:
            lines.append(f"  {expect}: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else DEFAULT_CASES
    try:
        found = load_cases(path)
    except CaseError as exc:
        print(f"anxin: {exc}", file=sys.stderr)
        return 2
    print(f"{path} (sha256 {found.digest}): {counts(found.cases)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
