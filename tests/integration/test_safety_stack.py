"""Safety through the real stack (REST → Rasa → actions → SQLite): harmless sentences
alarm nobody; clear danger alerts staff and queues the family's message in the same turn;
a possible danger is one question, closed by "没事" and escalated by "起不来" or by silence
(ANXIN_SAFETY_CHECK_S, a few seconds here, three minutes in service)."""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from care import models as m
from care.audit import Actor
from care.services import CareServices
from tests.integration.test_stack import post, rasa_ready, start, stop
from tests.support.clock import stack_care

CHECK_S = 3  # the action server looks every 5 s: escalated within ~8 s


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, CareServices]]:
    tmp = tmp_path_factory.mktemp("safety")
    proc, env, out = start(tmp, ANXIN_SAFETY_CHECK_S=str(CHECK_S))
    try:
        rasa_ready(int(env["ANXIN_RASA_PORT"]), proc)
        care = stack_care(f"sqlite:///{tmp / 'var' / 'anxin.db'}", env)
        yield int(env["ANXIN_RASA_PORT"]), care
        care.close()
    finally:
        stop(proc, out)


def an_elder_with_a_daughter(care: CareServices, sender: str) -> tuple[int, int]:
    mum = care.people.register_elder("rest", sender, "李秀兰", "zh")
    daughter = care.people.create("family", "李明")
    link = care.people.request_link(mum.id, daughter.id, "daughter")
    care.people.consent_link(link.id, Actor.person(mum.id))
    return mum.id, daughter.id


def say(port: int, sender: str, text: str) -> str:
    replies: list[dict[str, Any]] = post(port, sender, text)
    return " ".join(r.get("text", "") for r in replies)


def alerts(care: CareServices, sender: str) -> list[tuple[str, str]]:
    with care.db.read() as s:
        rows = s.scalars(select(m.Alert).where(m.Alert.conversation_id == f"rest:{sender}")
                         .order_by(m.Alert.id))  # fmt: skip
        return [(a.kind, a.status) for a in rows]


def family_told(care: CareServices, person_id: int) -> int:
    return len(care.safety.pending_notifications(person_id))


def test_a_broken_flask_and_an_idiom_alarm_nobody(stack):
    port, care = stack
    _, daughter = an_elder_with_a_daughter(care, "flask")
    for text in ("我把暖壶摔了", "乐死我了 孙子考上大学了", "120打通了要说啥"):
        answer = say(port, "flask", text)
        assert answer  # never an empty reply
    assert alerts(care, "flask") == []
    assert family_told(care, daughter) == 0


def test_everyday_words_that_sound_like_danger_are_listened_to_not_asked_again(stack):
    # not_safety (nlu_data/nlu/*/not_safety.yml): no alarm, no "please say that again".
    port, care = stack
    _, daughter = an_elder_with_a_daughter(care, "rice-cooker")
    answer = say(port, "rice-cooker", "电饭锅烧坏了 一股焦味 已经拔了插头")
    assert "我听着呢" in answer or "我在呢" in answer, answer
    assert alerts(care, "rice-cooker") == []
    assert family_told(care, daughter) == 0
    care.people.register_elder("rest", "toaster", "Joan", "en")
    toast = "the toaster sparked and smelled of burning, I've unplugged it and binned it"
    answer = say(port, "toaster", toast)
    assert "I'm listening" in answer or "I'm here" in answer, answer
    assert alerts(care, "toaster") == []


def test_a_fall_that_keeps_her_down_alerts_staff_and_family_in_the_same_turn(stack):
    port, care = stack
    _, daughter = an_elder_with_a_daughter(care, "down")
    answer = say(port, "down", "我在厕所摔倒了 起不来了")
    assert "120" in answer and "家人" in answer
    assert alerts(care, "down") == [("emergency", "open")]
    assert family_told(care, daughter) == 1


def test_a_fall_with_nothing_said_is_one_question_closed_by_im_fine(stack):
    port, care = stack
    _, daughter = an_elder_with_a_daughter(care, "fine")
    asked = say(port, "fine", "我刚才摔了一跤")
    assert "120" in asked and "？" in asked
    assert alerts(care, "fine") == [("check", "open")]
    # Read against the question: words the NLU would alarm at, that say all is well.
    assert "没事就好" in say(port, "fine", "就摔了一下 不疼 自己起来了")
    assert alerts(care, "fine") == [("check", "resolved")]
    time.sleep(CHECK_S + 6)  # past its time: a closed check stays closed
    assert alerts(care, "fine") == [("check", "resolved")]
    assert family_told(care, daughter) == 0


def test_a_fall_answered_with_cant_get_up_is_the_full_alarm(stack):
    port, care = stack
    _, daughter = an_elder_with_a_daughter(care, "help")
    say(port, "help", "I had a fall in the garden")
    answer = say(port, "help", "起不来")
    assert "120" in answer
    assert alerts(care, "help") == [("check", "resolved"), ("emergency", "open")]
    assert family_told(care, daughter) == 1


def test_a_possible_danger_nobody_answers_becomes_the_alarm_when_due(stack):
    port, care = stack
    mum, daughter = an_elder_with_a_daughter(care, "quiet")
    say(port, "quiet", "胸口有点闷")
    assert alerts(care, "quiet") == [("check", "open")]
    deadline = time.monotonic() + CHECK_S + 20
    while time.monotonic() < deadline and ("emergency", "open") not in alerts(care, "quiet"):
        time.sleep(0.5)
    assert alerts(care, "quiet") == [("check", "resolved"), ("emergency", "open")]
    assert family_told(care, daughter) == 1
    assert family_told(care, mum) == 1  # and she is told staff will call
