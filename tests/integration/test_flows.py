"""Day care, clinic, calls and family links through the real stack (Rasa + actions + SQLite).

The stack runs scaled out, as a busy centre would: conversations and their locks in
the real Redis and two Rasa worker processes, so consecutive messages of one form land
on either worker and only the shared tracker keeps the form going.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from care.audit import Actor
from care.clock import Clock
from care.services import CareServices
from tests.integration.test_stack import post, rasa_ready, start, stop
from tests.support.clock import centre_today, open_weekday, stack_care

REDIS_URL = os.environ.get("ANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, CareServices]]:
    tmp = tmp_path_factory.mktemp("visits")
    prefix = f"test{uuid.uuid4().hex[:10]}"
    proc, env, out = start(
        tmp,
        ANXIN_REDIS_URL=REDIS_URL,
        ANXIN_REDIS_PREFIX=prefix,
        ANXIN_RASA_WORKERS="2",
    )
    try:
        rasa_ready(int(env["ANXIN_RASA_PORT"]), proc)
        said = out.wait_for(r"conversations .*", 10)[0]
        assert "Redis redis://127.0.0.1:6379/0, 2 Rasa worker" in said
        # Rasa's main process and the two workers it forked, all sharing Redis.
        assert len(rasa_processes(env["ANXIN_RASA_PORT"])) == 3
        care = stack_care(f"sqlite:///{tmp / 'var' / 'anxin.db'}", env)  # on its clock
        yield int(env["ANXIN_RASA_PORT"]), care
        care.close()
    finally:
        stop(proc, out)
        forget_redis_keys(prefix)


def rasa_processes(port: str) -> list[int]:
    """Pids of the processes of the Rasa server on ``port`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"anxin.rasa_server" in argv and f"ANXIN_RASA_PORT={port}".encode() in environ:
            found.append(int(entry.name))
    return found


def forget_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def a_monday(clock: Clock) -> date:
    """An open Monday at least two days ahead of the stack's clock: day care closes the
    afternoon before."""
    day = centre_today(clock) + timedelta(days=2)
    while day.weekday() != 0 or not open_weekday(day):
        day += timedelta(days=1)
    return day


class Chat:
    def __init__(self, port: int, sender: str) -> None:
        self.port, self.sender = port, sender
        self.buttons: list[str] = []

    def __call__(self, text: str) -> str:
        replies: list[dict[str, Any]] = post(self.port, self.sender, text)
        self.buttons = [b["title"] for m in replies for b in m.get("buttons", [])]
        return " ".join(m.get("text", "") for m in replies)


def test_day_care_and_a_call_in_chinese(stack):
    port, care = stack
    day = a_monday(care.clock)
    zh = f"{day.month}月{day.day}号"
    say = Chat(port, "zh-visits")

    assert "日托" in say(f"我想{zh}去日托")
    assert any("全天" in b for b in say.buttons), say.buttons
    assert "接您" in say("全天")  # the bus: where to be picked up
    assert "称呼" in say("在东门上车")  # a first-timer is asked their name
    readback = say("李秀兰")
    assert f"{zh}，星期一" in readback and "日托（全天）" in readback, readback
    assert "07:50在花园小区东门接您" in readback and "对吗" in readback
    assert "约好了" in say("对")

    assert "志愿者" in say(f"{zh}找个志愿者给我打电话")
    assert "不订了" in say("算了")  # never mind: nothing booked
    say(f"{zh}找个志愿者给我打电话")
    _, time, who = say.buttons[1].split(" ")[:3]  # "2. 09:30 志愿者刘桂芝（爱好：…）"
    readback = say("第二个")
    assert f"{time}：{who.split('（')[0]}" in readback and "对吗" in readback, readback
    assert "约好了" in say("对")

    tuesday = day + timedelta(days=1)
    readback = say(f"把{zh}的日托改到{tuesday.month}月{tuesday.day}号")
    assert f"{tuesday.month}月{tuesday.day}号，星期二" in readback and "对吗" in readback, readback
    assert "改好了" in say("对")

    person = care.people.find_by_identity("rest", "zh-visits")
    bookings = care.bookings.upcoming(person.id)
    assert sorted((b.service, b.slot.date, b.status) for b in bookings) == [
        ("companion_call", day, "confirmed"),
        ("day_care", tuesday, "confirmed"),
    ]
    day_care = next(b for b in bookings if b.service == "day_care")
    assert day_care.slot.option == "full_day"
    assert day_care.details["pickup"]["name"] == "花园小区东门"


def test_a_clinic_visit_in_english_with_a_correction(stack):
    port, care = stack
    day = a_monday(care.clock)
    say = Chat(port, "en-visits")

    assert "Which one" in say(f"I need to see a doctor on {day:%B} {day.day}")
    assert any("Dr" in b for b in say.buttons), say.buttons
    assert "name" in say("9 o'clock")  # a free time not on the list is taken as said
    assert "name" in say("yes")  # "yes" is not a name: asked again
    readback = say("Mary Smith")
    assert f"Monday {day.day} {day:%B}, 09:00" in readback and "right?" in readback, readback
    readback = say("no, 10 am")
    assert "10:00" in readback and "right?" in readback, readback
    assert "booked" in say("yes")
    assert "10:00" in say("what have I booked")
    readback = say("can you move my doctor's appointment to 11 am")
    assert "11:00" in readback and "right?" in readback, readback
    assert "moved" in say("yes")

    person = care.people.find_by_identity("rest", "en-visits")
    assert person.name == "Mary Smith" and person.preferred_language == "en"
    [booking] = care.bookings.upcoming(person.id)
    local = booking.slot.starts_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (booking.service, booking.slot.date, f"{local:%H:%M}") == ("clinic", day, "11:00")


def test_a_son_links_with_his_mothers_consent_and_books_for_her(stack):
    port, care = stack
    day = a_monday(care.clock)
    zh = f"{day.month}月{day.day}号"
    mum_record = care.people.register_elder("rest", "fam-mum", "王秀英")
    mum, son = Chat(port, "fam-mum"), Chat(port, "fam-son")

    assert "还没和老人关联" in son(f"给我妈订{zh}的午饭")
    code = re.search(r"关联码是 (\d{6})", mum("我要关联家人"))
    assert code, "no code handed out"
    assert "称呼" in son(f"关联码 {code.group(1)}")
    assert "什么人" in son("王强") and "2. 女儿" in son.buttons
    assert "请王秀英确认" in son("我是她儿子")
    assert "还没和老人关联" in son(f"给我妈订{zh}的午饭")  # nothing before her yes

    ask = mum("谁要关联我")
    assert "儿子 王强" in ask and "同意吗" in ask, ask
    assert "关联上了" in mum("同意")

    assert "送到家" in son(f"给我妈订{zh}的午饭")
    readback = son("送到家")
    assert "给王秀英订" in readback and f"{zh}，星期一" in readback, readback
    assert "订好了" in son("对")
    assert "午饭" in son("我妈都约了啥")

    [booking] = care.bookings.upcoming(mum_record.id)
    relative = care.people.find_by_identity("rest", "fam-son")
    assert (booking.service, booking.slot.date, booking.slot.option) == ("meal", day, "delivery")
    assert booking.booked_by == f"person:{relative.id}" and relative.kind == "family"
    told = care.safety.pending_notifications(mum_record.id)
    assert any("王强" in m and "午饭" in m for m in told), told


def test_a_handed_off_conversation_waits_for_staff_but_not_in_an_emergency(stack):
    port, care = stack
    say = Chat(port, "handoff-elder")
    assert "工作人员" in say("转人工")
    assert say("你好 在吗") == ""  # staff have it: the bot does not talk over them
    assert "120" in say("我摔倒了起不来了")  # an emergency is still answered at once
    [handoff] = [a for a in care.alerts.open_alerts() if a.conversation_id == "rest:handoff-elder"
                 and a.kind == "handoff"]  # fmt: skip
    care.alerts.resolve(handoff.id, "wang.staff", "called her back")  # staff release it
    assert "安心" in say("谢谢")
    assert "订" in say("你们都有啥服务")  # and the bot answers again


def test_one_elder_on_two_apps_sees_one_set_of_bookings(stack):
    port, care = stack
    day = a_monday(care.clock)
    grandma = care.people.register_elder("rest", "two-apps-wechat", "赵玉兰", "zh")
    lunch = care.bookings.slot_by_code(f"meal:{day.isoformat()}:lunch:dine_in")
    care.bookings.book(grandma.id, lunch.id, Actor.person(grandma.id), "rest")

    first = Chat(port, "two-apps-wechat")
    code = re.search(r"\d{6}", first("俺想在电报上也能跟你唠"))
    assert code is not None
    second = Chat(port, "two-apps-telegram")
    linked = second(code[0])
    assert "赵玉兰" in linked and "认识您" in linked, linked
    assert care.people.find_by_identity("rest", "two-apps-telegram").id == grandma.id
    assert "午饭" in second("我都约了啥")  # the lunch booked before, seen from the other app
