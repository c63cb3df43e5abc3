"""Conversation review over the real app and database (SQLite and PostgreSQL).

Conversations are Rasa's own event objects published through the real batching broker
into the `events` table; bookings and alerts are made through care/ as the actions
make them. The real-stack test (a REST conversation) is test_conversations_stack.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from starlette.testclient import TestClient

from care.audit import Actor
from care.services import CareServices
from tests.care.helpers import load_small, slot_id
from tests.staff.conftest import SECRET_ADDRESS, Recorder, csrf_from

SECRET_WORDS = f"俺想订25号的午饭 送到{SECRET_ADDRESS}"
ROOT = Path(__file__).resolve().parents[2]
INJECTIONS = ["' OR 1=1 --", "'; DROP TABLE events; --", "\\", '" OR "a"="a', "%' --", "_%"]


@pytest.fixture
def talks(care: CareServices, recorder: Recorder, clock: Any) -> dict[str, Any]:
    """Three conversations: lunch booked on REST, an emergency on Telegram, a menu on WeChat,
    each under Rasa's sender id (``<channel>:<id>``, care.senders)."""
    load_small(care)
    li = care.people.register_elder("rest", "li-rest", "李秀兰")
    recorder.session("rest:li-rest")
    recorder.turn("rest:li-rest", SECRET_WORDS, "book_meal", 0.97,
                  replies=("您来食堂吃，还是给您送到家？",), actions=("meal_form",))  # fmt: skip
    clock.advance(seconds=20)
    yes = recorder.turn("rest:li-rest", "对", "affirm", 0.41, replies=("订好了！",),
                        actions=("meal_form", "action_book_meal"))  # fmt: skip
    booking = care.bookings.book(
        li.id, slot_id(care, "meal:2026-11-25:lunch:dine_in"), Actor.person(li.id), "rest",
        idempotency_key=f"rest:li-rest:{yes}",
    )  # fmt: skip
    clock.advance(minutes=5)
    recorder.session("telegram:tg-42")
    telegram = {"channel": "telegram", "language": "en"}
    recorder.turn("telegram:tg-42", "I fell and can't get up", "emergency", 0.99,
                  replies=("Call 120 now.",), actions=("action_emergency",),
                  **telegram)  # fmt: skip
    care.alerts.raise_alert("emergency", "fell", conversation_id="telegram:tg-42",
                            channel="telegram")  # fmt: skip
    recorder.turn("telegram:tg-42", "get me a person", "request_human", 0.9,
                  actions=("action_handoff",), slots={"handed_off": True}, **telegram)  # fmt: skip
    clock.advance(days=2)
    recorder.session("wechat:wx-7")
    recorder.turn("wechat:wx-7", "100% 好_吃 的菜有啥", "ask_menu", 0.88, channel="wechat",
                  replies=("今天的菜：饺子",))  # fmt: skip
    recorder.flush()
    return {"elder": li.id, "booking": booking.id}


def ids(client: TestClient, **params: str) -> list[str]:
    response = client.get("/api/conversations", params=params)
    assert response.status_code == 200, response.text
    return sorted(c["id"] for c in response.json()["conversations"])


def test_a_conversation_has_its_turns_intents_and_booking_and_the_view_is_audited(
    talks: dict[str, Any], client_as: Callable[[str], TestClient], care: CareServices
) -> None:
    staff = client_as("staff")
    body = staff.get("/api/conversations/rest:li-rest").json()
    assert body["person_id"] == talks["elder"] and body["person_name"] == "李秀兰"
    assert body["channels"] == ["rest"] and body["languages"] == ["zh"]
    [session] = body["sessions"]
    said = [t for t in session["turns"] if t["event_id"] is not None]
    assert [(t["text"], t["intent"], t["low_confidence"]) for t in said] == [
        (SECRET_WORDS, "book_meal", False),
        ("对", "affirm", True),
    ]
    assert said[0]["replies"] == ["您来食堂吃，还是给您送到家？"]
    assert said[1]["actions"] == ["meal_form", "action_book_meal"]
    assert said[0]["bookings"] == []
    assert said[1]["bookings"] == [
        {"id": talks["booking"], "service": "meal", "slot": "meal:2026-11-25:lunch:dine_in",
         "date": "2026-11-25", "status": "confirmed", "change": "create"}
    ]  # fmt: skip
    assert body["bookings"] == [talks["booking"]]
    handed = staff.get("/api/conversations/telegram:tg-42").json()
    assert handed["handed_off"] is True and handed["has_alert"] is True
    views = care.db.read
    with views() as s:
        from care import audit

        rows = audit.entries(s, action="conversation.view")
    assert [(r.actor, r.subject) for r in rows] == [
        ("staff:staff.0", "conversation:telegram:tg-42"),
        ("staff:staff.0", "conversation:rest:li-rest"),
    ]


def test_filters_narrow_the_list(talks: dict[str, Any], client_as: Callable[[str], TestClient]):
    staff = client_as("staff")
    assert ids(staff) == ["rest:li-rest", "telegram:tg-42", "wechat:wx-7"]
    assert ids(staff, channel="telegram") == ["telegram:tg-42"]
    assert ids(staff, language="en") == ["telegram:tg-42"]
    assert ids(staff, intent="book_meal") == ["rest:li-rest"]
    assert ids(staff, handed_off="yes") == ["telegram:tg-42"]
    assert ids(staff, handed_off="no") == ["rest:li-rest", "wechat:wx-7"]
    assert ids(staff, has_alert="yes") == ["telegram:tg-42"]
    assert ids(staff, has_alert="no") == ["rest:li-rest", "wechat:wx-7"]
    assert ids(staff, low_confidence="yes") == ["rest:li-rest"]
    assert ids(staff, elder_id=str(talks["elder"])) == ["rest:li-rest"]
    assert ids(staff, **{"from": "2026-11-27"}) == ["wechat:wx-7"]  # two days later, in Harbin
    assert ids(staff, to="2026-11-25") == ["rest:li-rest", "telegram:tg-42"]
    assert ids(staff, q="学府路") == ["rest:li-rest"]
    assert ids(staff, q="CALL 120") == ["telegram:tg-42"]  # replies too, any case
    assert ids(staff, q="100%") == ["wechat:wx-7"] and ids(staff, q="好_吃") == ["wechat:wx-7"]
    assert ids(staff, q="100_") == [] and ids(staff, q="好%吃") == []  # wildcards are literal
    first = staff.get("/api/conversations", params={"per_page": "2"}).json()
    second = staff.get("/api/conversations", params={"per_page": "2", "page": "2"}).json()
    assert first["total"] == 3
    assert [c["id"] for c in first["conversations"]] == ["wechat:wx-7", "telegram:tg-42"]
    assert [c["id"] for c in second["conversations"]] == ["rest:li-rest"]
    page = staff.get("/conversations", params={"channel": "wechat", "handed_off": ""})
    # Links carry the id URL-encoded (":" as %3A).
    assert page.status_code == 200 and "/conversations/wechat%3Awx-7" in page.text
    assert "/conversations/rest%3Ali-rest" not in page.text


def test_injection_strings_are_text_and_bad_filters_are_refused(
    talks: dict[str, Any], client_as: Callable[[str], TestClient], care: CareServices
) -> None:
    staff = client_as("staff")
    for evil in INJECTIONS:
        assert ids(staff, q=evil) == [], evil
        page = staff.get("/conversations", params={"q": evil})
        assert page.status_code == 200 and "/conversations/" not in page.text.split("<table")[0]
    for name, value in [("intent", "x' OR '1'='1"), ("channel", "rest; --"), ("language", "fr"),
                        ("handed_off", "maybe"), ("from", "yesterday"), ("elder_id", "1 OR 1"),
                        ("q", "x" * 201)]:  # fmt: skip
        response = staff.get("/api/conversations", params={name: value})
        assert response.status_code == 400, (name, value)
        assert "Traceback" not in response.text and value not in response.text
    assert staff.get("/conversations", params={"intent": "x' OR '1'='1"}).status_code == 400
    # every table still there
    assert ids(staff) == ["rest:li-rest", "telegram:tg-42", "wechat:wx-7"]


def test_volunteers_see_what_happened_but_not_the_words(
    talks: dict[str, Any], client_as: Callable[[str], TestClient]
) -> None:
    volunteer = client_as("volunteer")
    body = volunteer.get("/api/conversations/rest:li-rest").json()
    said = [t for s in body["sessions"] for t in s["turns"] if t["event_id"]]
    assert body["redacted"] is True
    assert [(t["text"], t["intent"]) for t in said] == [("***", "book_meal"), ("***", "affirm")]
    assert said[1]["bookings"][0]["id"] == talks["booking"]
    page = volunteer.get("/conversations/rest:li-rest")
    assert page.status_code == 200 and "book_meal" in page.text
    for client_text in (str(body), page.text):
        assert "学府路" not in client_text and "订好了" not in client_text
    assert 'name="correct_intent"' not in page.text  # flagging is for staff
    assert volunteer.get("/api/conversations", params={"q": "学府路"}).status_code == 403
    assert volunteer.get("/conversations", params={"q": "学府路"}).status_code == 403
    assert ids(volunteer) == ["rest:li-rest", "telegram:tg-42", "wechat:wx-7"]


def test_unknown_conversations_and_unauthenticated_requests(
    talks: dict[str, Any], client_as: Callable[[str], TestClient], anonymous: TestClient
) -> None:
    assert anonymous.get("/api/conversations").status_code == 401
    assert anonymous.get("/api/conversations/rest:li-rest").status_code == 401
    login = anonymous.get("/conversations/rest:li-rest", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"].startswith("/login")
    assert anonymous.get("/export/conversations.csv", follow_redirects=False).status_code == 303
    staff = client_as("staff")
    assert staff.get("/api/conversations/nobody").status_code == 404
    assert staff.get("/conversations/nobody").status_code == 404
    assert staff.get("/api/conversations", params={"elder_id": "99999"}).status_code == 404


def test_csv_export_is_for_staff_and_audited(
    talks: dict[str, Any], client_as: Callable[[str], TestClient], care: CareServices
) -> None:
    assert client_as("volunteer").get("/export/conversations.csv").status_code == 403
    staff = client_as("staff")
    response = staff.get("/export/conversations.csv", params={"channel": "rest"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("conversation_id,person_id,person_name")
    assert any(SECRET_WORDS in line and "book_meal" in line for line in lines)
    assert any(f"create:{talks['booking']}:meal:2026-11-25:lunch:dine_in" in x for x in lines)
    assert "telegram:tg-42" not in response.text
    from care import audit

    with care.db.read() as s:
        [entry] = audit.entries(s, action="export.conversations")
    assert entry.actor == "staff:staff.1" and entry.detail["count"] == 1
    assert entry.detail["filters"] == {"channel": "rest"}


def said_ids(client: TestClient, conversation: str) -> list[int]:
    body = client.get(f"/api/conversations/{conversation}").json()
    return [t["event_id"] for s in body["sessions"] for t in s["turns"] if t["event_id"]]


def test_flag_a_misunderstood_message_and_export_it_as_rasa_training_data(
    talks: dict[str, Any],
    client_as: Callable[[str], TestClient],
    care: CareServices,
    tmp_path: Path,
) -> None:
    staff = client_as("staff")
    first, yes = said_ids(staff, "rest:li-rest")
    [menu] = said_ids(staff, "wechat:wx-7")
    [fell, person] = said_ids(staff, "telegram:tg-42")
    form = csrf_from(staff.get("/conversations/rest:li-rest").text)

    def flag(conversation: str, event_id: int, intent: str, token: str = form) -> int:
        data = {"csrf_token": token, "event_id": str(event_id), "correct_intent": intent}
        url = f"/conversations/{conversation}/flag"
        return staff.post(url, data=data, follow_redirects=False).status_code

    assert flag("rest:li-rest", yes, "inform", token="forged") == 403
    assert flag("rest:li-rest", yes, "no_such_intent") == 400
    assert flag("wechat:wx-7", yes, "inform") == 404  # a message of another conversation
    assert flag("rest:li-rest", 10**9, "inform") == 404
    assert client_as("volunteer").post(
        "/conversations/rest:li-rest/flag", data={"event_id": str(yes), "correct_intent": "inform"}
    ).status_code == 403  # fmt: skip
    assert flag("rest:li-rest", yes, "inform") == 303
    assert flag("rest:li-rest", yes, "affirm") == 303  # changed its mind: one correction, the last
    assert flag("wechat:wx-7", menu, "ask_services") == 303
    assert flag("telegram:tg-42", person, "request_human") == 303
    page = staff.get("/conversations/rest:li-rest").text
    assert "Corrected to" in page or "已更正为" in page
    turns = staff.get("/api/conversations/rest:li-rest").json()["sessions"][0]["turns"]
    assert [t["correction"] for t in turns if t["event_id"]] == [None, "affirm"]
    assert fell and first  # unflagged messages stay out of the export

    out = tmp_path / "nlu"
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "nlu", "export", "--out", str(out)],
        env={**os.environ, "ANXIN_DB_URL": care.settings.db_url},
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 correction(s) in zh" in done.stdout and "1 correction(s) in en" in done.stdout
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    def examples(language: str) -> list[tuple[str, str]]:
        data = RasaYAMLReader().read(out / language / "corrections.yml")
        return sorted((m.get("text"), m.get("intent")) for m in data.intent_examples)

    assert examples("zh") == [("100% 好_吃 的菜有啥", "ask_services"), ("对", "affirm")]
    assert examples("en") == [("get me a person", "request_human")]


def test_the_dashboard_counts_todays_conversations_per_channel(
    talks: dict[str, Any], client_as: Callable[[str], TestClient], care: CareServices
) -> None:
    from datetime import date

    log = client_as("staff").app.state.console.conversations  # type: ignore[attr-defined]
    assert log.per_channel(date(2026, 11, 25)) == {"rest": 1, "telegram": 1}
    assert log.per_channel(date(2026, 11, 27), chunk=1) == {"wechat": 1}
    assert log.per_channel(date(2026, 11, 26)) == {}
    # The clock is two days on: "today" on the dashboard is the WeChat conversation's day.
    page = client_as("volunteer").get("/").text
    assert 'href="/conversations?channel=wechat&amp;from=2026-11-27&amp;to=2026-11-27"' in page
    assert "telegram" not in page.split('id="conversations-today"')[1].split("</table>")[0]
