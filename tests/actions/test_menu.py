"""action_show_menu: dishes with diet tags, for the day asked or the next day with meals."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.menu import ActionShowMenu
from tests.care.helpers import load_small


def asking(entities=(), slots=None) -> Tracker:
    latest = {"text": "吃啥", "entities": list(entities)}
    return Tracker("u", slots or {}, latest, [], False, None, {}, "")


async def test_menu_for_the_day_asked_with_tags(care):
    load_small(care)
    d = CollectingDispatcher()
    date26 = [{"entity": "date", "value": "2026-11-26"}, {"entity": "meal", "value": "lunch"}]
    await ActionShowMenu(care).run(d, asking(date26), {})
    [menu] = d.messages
    assert (menu["day"], menu["meal"]) == ("明天", "午饭")
    assert menu["dishes"] == "清蒸鲈鱼（软烂、控糖）、白菜豆腐汤（少盐）"
    d = CollectingDispatcher()
    await ActionShowMenu(care).run(d, asking(date26, {"language": "en"}), {})
    assert (
        d.messages[0]["dishes"]
        == "Steamed sea bass (soft, low-sugar), Cabbage and tofu soup (low-salt)"
    )


async def test_mid_booking_the_form_date_is_used_and_empty_days_are_said(care):
    load_small(care)
    d = CollectingDispatcher()
    await ActionShowMenu(care).run(
        d, asking(slots={"meal_date": "2026-11-27", "meal": "dinner"}), {}
    )
    assert [m["meal"] for m in d.messages] == ["晚饭"]
    d = CollectingDispatcher()
    await ActionShowMenu(care).run(d, asking([{"entity": "date", "value": "2026-11-29"}]), {})
    assert d.messages[0]["response"] == "utter_no_menu"
    d = CollectingDispatcher()
    await ActionShowMenu(care).run(d, asking(), {})  # today: lunch and dinner
    assert [m["meal"] for m in d.messages] == ["午饭", "晚饭"]
