"""Choosing among a few offered slots: by number, time, name or period (pure, no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from care.choices import Option, offer, option_of, ordinal, pick
from care.records import SlotRecord

TZ = timezone(timedelta(hours=8))
DAY = date(2026, 11, 26)


def slot(i: int, service: str, hhmm: str, option: str = "x", **details: object) -> SlotRecord:
    hh, mm = map(int, hhmm.split(":"))
    start = datetime(2026, 11, 26, hh, mm, tzinfo=TZ)
    return SlotRecord(i, f"{service}:{i}:{option}", service, option, DAY, start,
                      start + timedelta(minutes=30), start, 1, 0, dict(details))  # fmt: skip


def doctor(i: int, hhmm: str, zh: str, en: str, dept: str = "内科") -> SlotRecord:
    return slot(i, "clinic", hhmm, "appointment", doctor=zh, doctor_en=en, department=dept,
                department_en="Internal medicine")  # fmt: skip


DAY_CARE = [slot(1, "day_care", "08:30", "morning"), slot(2, "day_care", "13:30", "afternoon"),
            slot(3, "day_care", "08:30", "full_day")]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [("2", 3, 2), ("２", 3, 2), ("第二个", 3, 2), ("要3号", 3, 3), ("第三个吧", 3, 3),
     ("the second one", 3, 2), ("number 1", 3, 1), ("最后一个", 3, 3), ("last", 4, 4),
     ("三", 3, 3), ("two", 3, 2), ("1.", 3, 1), ("5", 3, None), ("第五个", 4, None),
     ("九点", 3, None), ("明天上午", 3, None), ("0", 3, None),
     # What a phone line makes of it: a filler before the choice.
     ("And hum, number one.", 3, 1), ("and number one", 3, 1), ("Um, the second one", 3, 2),
     ("嗯，第二个", 3, 2), ("And", 3, None), ("Andrew", 3, None)],
)  # fmt: skip
def test_ordinals(text, count, expected):
    assert ordinal(text, count) == expected


def test_day_care_by_number_period_or_words():
    options = offer(DAY_CARE, TZ)
    assert [o.code for o in options] == ["day_care:1:morning", "day_care:3:full_day",
                                         "day_care:2:afternoon"]  # fmt: skip
    assert pick(options, "下午的").code == "day_care:2:afternoon"
    assert pick(options, "一整天").code == "day_care:3:full_day"
    assert pick(options, "full day please").code == "day_care:3:full_day"
    assert pick(options, "第一个").code == "day_care:1:morning"
    assert pick(options, "", part_of_day="afternoon").code == "day_care:2:afternoon"
    assert pick(options, "嗯嗯") is None


def test_a_tapped_button_names_the_exact_slot():
    options = offer(DAY_CARE, TZ)
    assert pick(options, "/inform", code="day_care:2:afternoon").code == "day_care:2:afternoon"
    assert pick(options, "", code="day_care:9:gone") is None


def test_clinic_offers_each_doctor_first_then_by_time():
    wang = [doctor(i, f"{8 + i // 4}:{(i % 4) * 15:02d}", "王淑芬", "Dr Wang Shufen")
            for i in range(8)]  # fmt: skip
    slots = [*wang, doctor(20, "08:30", "李建国", "Dr Li Jianguo", "中医科")]
    options = offer(slots, TZ)
    assert len(options) == 4
    assert {"王淑芬医生" in o.label_zh for o in options} == {True, False}
    assert pick(options, "李大夫").label_en == "08:30 Internal medicine, Dr Li Jianguo"
    assert pick(options, "王医生") is None  # several of hers: which one?
    nine = offer(slots, TZ, time="09:00")
    assert nine[0].start == "08:30" and "09:00" in [o.start for o in nine]
    assert pick(nine, "九点那个", time="09:00").start == "09:00"
    assert pick(nine, "wang at nine", time="09:00").start == "09:00"


def test_volunteers_by_name_and_waitlist_label():
    who = {"volunteer": "张欣怡", "volunteer_en": "Zhang Xinyi", "volunteer_code": "v-zhang"}
    call = slot(7, "companion_call", "19:00", "call", interests=["老电影"],
                interests_en=["old films"], **who)  # fmt: skip
    [option] = offer([call], TZ)
    assert option.label_zh == "19:00 志愿者张欣怡（爱好：老电影）"
    assert pick([option], "小张吧") == option
    assert pick([option], "Xinyi please") == option
    waiting = option_of(call, TZ, waitlist=True)
    assert waiting.waitlist and waiting.label_en.startswith("Waiting list for 19:00 Zhang Xinyi")


def test_nothing_offered_picks_nothing():
    assert offer([], TZ) == []
    assert pick([], "1") is None


def test_part_of_a_name_is_enough_when_only_one_option_has_it():
    stops = [option_of(s, TZ) for s in DAY_CARE]
    assert pick(stops, "要全天的那个").code == "day_care:3:full_day"
    points = [Option("pickup:0", "07:50 花园小区东门", "", "07:50", ("花园小区东门",)),
              Option("pickup:1", "08:10 秋林公司北门", "", "08:10", ("秋林公司北门",))]  # fmt: skip
    assert pick(points, "在东门上车").code == "pickup:0"
    assert pick(points, "秋林那").code == "pickup:1"
    assert pick(points, "门口") is None  # both are gates: which one?


def test_a_few_letters_in_common_are_no_choice():
    stops = [Option("pickup:0", "", "07:50 Huayuan Residential Compound, east gate", "07:50",
                    ("huayuan residential compound, east gate",)),
             Option("pickup:1", "", "08:00 Bus stop at Xuanhua Street and Dacheng Street",
                    "08:00", ("bus stop at xuanhua street and dacheng street",))]  # fmt: skip
    # "and", "hum" and "number" are in neither stop's name as a word of four letters.
    assert pick(stops, "And hum, number.") is None
    assert pick(stops, "east gate").code == "pickup:0"
    assert pick(stops, "at the Xuanhua stop").code == "pickup:1"
