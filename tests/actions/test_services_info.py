"""action_list_services reads real free places from the care domain."""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.say import day_en, day_zh
from actions.services_info import ActionListServices
from care.audit import Actor
from tests.care.helpers import elder, load_small, slot_id


def tracker() -> Tracker:
    return Tracker("elder-1", {}, {"intent": {"name": "ask_services"}}, [], False, None, {}, "")


async def test_overview_counts_free_places(care):
    load_small(care)
    grandma = elder(care)
    care.bookings.book(
        grandma.id, slot_id(care, "meal:2026-11-25:lunch:dine_in"), Actor.person(grandma.id), "rest"
    )
    dispatcher = CollectingDispatcher()
    events = await ActionListServices(care).run(dispatcher, tracker(), {})
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_services_overview"
    assert (message["lunch_day"], message["lunch_seats"]) == ("今天", 9)
    # Tomorrow's day care: the bigger of the two sessions still open.
    assert (message["day_care_day"], message["day_care_places"]) == ("明天", 4)
    assert message["departments"] == "内科、康复科"
    assert message["departments_en"] == "Internal medicine, Rehabilitation"
    assert message["volunteers"] == 2
    assert message["centre"] == "测试社区养老服务中心"


async def test_overview_without_a_catalogue_is_still_polite(care):
    dispatcher = CollectingDispatcher()
    await ActionListServices(care).run(dispatcher, tracker(), {})
    [message] = dispatcher.messages
    assert message["lunch_seats"] == 0 and message["departments"] == "暂时没有号"
    assert message["lunch_day"] == "这几天" and message["lunch_day_en"] == "this week"


def test_days_are_said_the_way_people_say_them():
    today = date(2026, 11, 25)
    assert [day_zh(date(2026, 11, d), today) for d in (25, 26, 27)] == ["今天", "明天", "后天"]
    assert day_zh(date(2026, 11, 28), today) == "11月28号（星期六）"
    assert day_en(date(2026, 11, 26), today) == "tomorrow"
    assert day_en(date(2026, 11, 28), today) == "on Saturday 28 November"


def test_read_back_always_says_date_and_weekday():
    from actions.say import full_day_zh

    today = date(2026, 11, 25)
    assert full_day_zh(date(2026, 11, 26), today) == "明天（11月26号，星期四）"
    assert full_day_zh(date(2026, 12, 1), today) == "12月1号，星期二"
