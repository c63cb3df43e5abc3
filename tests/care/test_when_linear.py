"""care.when reads a long message in time linear in its length, and reads it as before.

Choosing the pieces of a text (``_select``) and the part of the day nearest a clock time
(``_Parts.nearest``) compared every piece with every other: "明天下午三点" repeated over
8,000 characters took 1.2 s. Both now use sorted lists; the old, quadratic versions are
kept here as the reference they must agree with, on any pieces Hypothesis makes up.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from care.when import _Parts, _select, parse_when
from care.when_common import Item

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def reference_select(items: list[Item]) -> list[Item]:
    taken: list[Item] = []
    for item in sorted(items, key=lambda i: (i.start - i.end, i.start)):
        if all(item.end <= t.start or item.start >= t.end for t in taken):
            taken.append(item)
    return sorted(taken, key=lambda i: i.start)


def reference_nearest(item: Item, parts: list[Item]) -> Item | None:
    def gap(p: Item) -> tuple[int, int]:
        return (item.start - p.end, 0) if p.end <= item.start else (p.start - item.end, 1)

    return min(parts, key=gap, default=None)


@st.composite
def pieces(draw: st.DrawFn, shortest: int = 0) -> list[Item]:
    out = []
    for n in range(draw(st.integers(0, 40))):
        start = draw(st.integers(0, 60))
        end = start + draw(st.integers(shortest, 8))
        out.append(Item(start, end, day=n))  # `day` tells equal spans apart
    return out


@settings(max_examples=400, deadline=None)
@given(pieces())
def test_select_takes_what_the_quadratic_version_took(items: list[Item]) -> None:
    assert _select(items) == reference_select(items)


# A scanner's piece is a match with text in it: never empty, so each part of the day is
# either before a clock time or after it.
@settings(max_examples=400, deadline=None)
@given(pieces(shortest=1), st.data())
def test_the_nearest_part_is_the_one_the_quadratic_version_found(
    items: list[Item], data: st.DataObject
) -> None:
    chosen = _select(items)  # as parse_when has them: in text order, not overlapping
    marks = data.draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    parts = [i for i, is_part in zip(chosen, marks, strict=True) if is_part]
    found = _Parts(parts)
    for item in (i for i, is_part in zip(chosen, marks, strict=True) if not is_part):
        assert found.nearest(item) is reference_nearest(item, parts)


def test_a_long_message_is_read_as_its_pieces_say() -> None:
    once = parse_when("明天下午三点", NOW)
    many = parse_when("明天下午三点" * 300, NOW)
    assert (many.date, many.time, many.part_of_day) == (once.date, once.time, once.part_of_day)
    assert len(many.spans) == 900
