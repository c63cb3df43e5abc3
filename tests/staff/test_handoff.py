"""Hand-off in the console without Rasa's answer: who may reply or release, what a bad
reply gets back, the staff-reply outbox handing each reply out once, the live alerts
poll. The reply reaching Rasa and the person is proven on the real stack
(test_browser_handoff.py)."""

from __future__ import annotations

from typing import Callable, Iterator
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from care import audit
from care.services import CareServices
from care.staff_replies import MAX_CHARS, StaffReplies
from staff.app import create_app
from staff.config import StaffSettings
from tests.staff.conftest import SECRET_SUMMARY, Recorder, add_user, csrf_from, login

As = Callable[[str], TestClient]
SENDER = "rest:handoff-1"  # Rasa's id of a REST conversation (care.senders)
IN_LINKS = quote(SENDER, safe="")  # as the pages' links carry it


@pytest.fixture
def held(care: CareServices, recorder: Recorder) -> int:
    """A REST conversation whose person asked for a human: the hand-off alert is open."""
    recorder.session(SENDER)
    recorder.turn(SENDER, "我要找人工", "request_human", replies=("好的，马上帮您转人工。",))
    recorder.flush()
    alert = care.alerts.raise_alert("handoff", "要找人工", conversation_id=SENDER, channel="rest")
    return alert.id


def _token(client: TestClient) -> str:
    return csrf_from(client.get(f"/conversations/{SENDER}").text)


def test_staff_see_the_reply_form_only_while_they_hold_the_conversation(
    care: CareServices, client_as: As, held: int
):
    staff, volunteer = client_as("staff"), client_as("volunteer")
    page = staff.get(f"/conversations/{SENDER}").text
    assert f'action="/conversations/{IN_LINKS}/reply"' in page
    assert f'action="/conversations/{IN_LINKS}/release"' in page
    assert "/reply" not in volunteer.get(f"/conversations/{SENDER}").text
    care.alerts.resolve(held, "someone", "done")
    assert "/reply" not in staff.get(f"/conversations/{SENDER}").text


def test_volunteers_and_forged_tokens_may_not_reply_or_release(
    care: CareServices, client_as: As, held: int
):
    volunteer, staff = client_as("volunteer"), client_as("staff")
    token = _token(volunteer)
    for action in ("reply", "release"):
        response = volunteer.post(
            f"/conversations/{SENDER}/{action}",
            data={"csrf_token": token, "text": "hi", "note": "n"},
        )
        assert response.status_code == 403, action
        forged = staff.post(
            f"/conversations/{SENDER}/{action}",
            data={"csrf_token": "forged", "text": "hi", "note": "n"},
        )
        assert forged.status_code == 403, action
    assert care.alerts.handoff_open(SENDER)
    assert StaffReplies(care.db, care.clock).pending("rest") == []


def test_an_empty_or_too_long_reply_gets_the_form_again_and_nothing_is_sent(
    care: CareServices, client_as: As, held: int
):
    staff = client_as("staff")
    token = _token(staff)
    empty = staff.post(f"/conversations/{SENDER}/reply", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 400
    assert "请先写回复内容" in empty.text or "write a reply" in empty.text
    long_text = "好" * (MAX_CHARS + 1)
    too_long = staff.post(
        f"/conversations/{SENDER}/reply", data={"csrf_token": token, "text": long_text}
    )
    assert too_long.status_code == 400
    assert long_text in too_long.text  # the draft is kept for staff to shorten
    assert StaffReplies(care.db, care.clock).pending("rest") == []


def test_no_reply_or_release_once_the_conversation_is_given_back(
    care: CareServices, client_as: As, held: int
):
    staff = client_as("staff")
    token = _token(staff)
    care.alerts.resolve(held, "someone", "done")
    for action in ("reply", "release"):
        response = staff.post(
            f"/conversations/{SENDER}/{action}",
            data={"csrf_token": token, "text": "您好", "note": "n"},
        )
        assert response.status_code == 409, action
    unknown = staff.post(
        "/conversations/nobody-here/reply", data={"csrf_token": token, "text": "您好"}
    )
    assert unknown.status_code == 404


def test_with_rasa_unreachable_the_reply_is_neither_recorded_nor_queued(
    care: CareServices, held: int
):
    # Port 9 (discard) has no Rasa: staff are told, keep their draft, nothing is queued.
    app = create_app(care, StaffSettings(rasa_url="http://127.0.0.1:9"))
    add_user(care, "nurse.li", "staff")
    with TestClient(app) as staff:
        assert login(staff, "nurse.li").status_code == 303
        response = staff.post(
            f"/conversations/{SENDER}/reply",
            data={"csrf_token": _token(staff), "text": "我是护士小李"},
        )
    assert response.status_code == 503
    assert "我是护士小李" in response.text
    assert StaffReplies(care.db, care.clock).pending("rest") == []


def test_release_resolves_the_handoff_with_a_note_and_is_audited(
    care: CareServices, client_as: As, held: int
):
    staff = client_as("staff")
    token = _token(staff)
    no_note = staff.post(f"/conversations/{SENDER}/release", data={"csrf_token": token})
    assert no_note.status_code == 400
    assert care.alerts.handoff_open(SENDER)
    done = staff.post(
        f"/conversations/{SENDER}/release",
        data={"csrf_token": token, "note": "问题已解决"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert not care.alerts.handoff_open(SENDER)
    with care.db.read() as s:
        actions = [e.action for e in audit.entries(s, limit=50)]
    assert "alert.resolve" in actions


def test_each_staff_reply_is_handed_out_once_and_a_failed_send_keeps_it(care: CareServices):
    replies = StaffReplies(care.db, care.clock)
    first = replies.queue("telegram", "telegram:42", "您好，我是小王", "nurse.wang")
    replies.queue("rest", "rest:42", "another channel", "nurse.wang")
    assert [r.text for r in replies.pending("telegram")] == ["您好，我是小王"]
    assert replies.claim(first)
    assert not replies.claim(first)  # a second process gets nothing
    replies.unclaim(first)  # the send failed
    assert [r.id for r in replies.pending("telegram", "telegram:42")] == [first]
    assert replies.take("rest", "telegram:42") == []  # another conversation
    assert [r.text for r in replies.take("rest", "rest:42")] == ["another channel"]
    assert replies.take("rest", "rest:42") == []
    # The staff outbox never shows up as a real channel's held messages.
    assert care.channels.held("rest") == [] and care.channels.waiting("telegram") == []


@pytest.fixture
def console_app(care: CareServices) -> Iterator[FastAPI]:
    yield create_app(care, StaffSettings(alerts_poll_s=2))


def test_the_live_alerts_poll_shows_new_alerts_redacted_for_volunteers(
    care: CareServices, console_app: FastAPI
):
    add_user(care, "v1", "volunteer")
    add_user(care, "s1", "staff")
    with TestClient(console_app) as anonymous:
        assert anonymous.get("/alerts/live", follow_redirects=False).status_code == 303
    with TestClient(console_app) as volunteer, TestClient(console_app) as staff:
        assert login(volunteer, "v1").status_code == 303
        assert login(staff, "s1").status_code == 303
        page = staff.get("/alerts").text
        assert 'id="alerts-live"' in page and "/alerts/live" in page
        assert staff.get("/alerts/live").json()["count"] == 0
        care.alerts.raise_alert("emergency", SECRET_SUMMARY, conversation_id="c-9", channel="rest")
        seen = staff.get("/alerts/live?actions=1").json()
        assert seen["count"] == 1
        assert SECRET_SUMMARY in seen["html"] and "/resolve" in seen["html"]
        masked = volunteer.get("/alerts/live?actions=1")
        assert masked.headers["cache-control"] == "no-store"
        assert masked.json()["count"] == 1
        assert SECRET_SUMMARY not in masked.text and "/resolve" not in masked.text
