"""Low moods are remembered; three in a week raise one loneliness-risk alert."""

from __future__ import annotations

from datetime import date

from tests.care.helpers import elder, load_small


def test_three_low_moods_in_a_week_raise_one_alert(care, clock):
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    first = care.comfort.record("wechat", "oWx-1", "lonely")
    assert (first.person, first.low_this_week, first.alert) == (grandma, 1, None)
    clock.advance(days=2)
    assert care.comfort.record("wechat", "oWx-1", "ok").alert is None
    assert care.comfort.record("wechat", "oWx-1", "sad").low_this_week == 2
    clock.advance(days=3)
    third = care.comfort.record("wechat", "oWx-1", "lonely")
    assert third.low_this_week == 3 and third.alert is not None
    assert third.alert.kind == "loneliness_risk" and third.alert.person_id == grandma.id
    assert care.comfort.record("wechat", "oWx-1", "sad").alert is None  # one open alert is enough
    care.alerts.resolve(third.alert.id, "wang.staff", "called her daughter")
    again = care.comfort.record("wechat", "oWx-1", "lonely")
    assert again.alert is not None and again.low_this_week == 5


def test_old_moods_fall_out_of_the_week(care, clock):
    care.comfort.record("rest", "stranger", "sad")
    care.comfort.record("rest", "stranger", "sad")
    clock.advance(days=8)
    result = care.comfort.record("rest", "stranger", "lonely")
    assert (result.person, result.low_this_week, result.alert) == (None, 1, None)
    assert care.comfort.record("rest", "someone-else", "sad").low_this_week == 1


def test_suggests_a_volunteer_who_shares_an_interest(care):
    load_small(care)
    grandma = elder(care, interests=["京剧"])
    today = date(2026, 11, 25)
    zh = care.comfort.suggest(grandma, "zh", today)
    assert zh.call is not None and zh.call.details["volunteer"] == "张敏"
    assert zh.shared_interest == "京剧"
    assert zh.activity == {"name": "书法班", "date": "2026-11-25", "start": "09:00", "place": ""}
    en = care.comfort.suggest(grandma, "en", today)
    assert en.shared_interest == "Peking opera" and en.activity["name"] == "Calligraphy class"
    nobody = care.comfort.suggest(None, "en", today)
    assert nobody.call is not None and nobody.shared_interest is None
