"""A lunch booked through the REST channel of the real stack (`anxin run`: Rasa, actions,
the batching event broker) shows up in the console's API with its turns and the booking.

Nothing is faked: Rasa publishes its events to anxin.event_broker, which writes them to
the stack's SQLite database; the console app reads that database.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from care.services import CareServices
from staff.app import create_app
from tests.integration.test_stack import (
    post,
    rasa_ready,
    start,
    stop,
)
from tests.staff.conftest import SETTINGS, add_user, login
from tests.support.clock import stack_care, weekday_ahead

WAIT_S = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, CareServices]]:
    tmp: Path = tmp_path_factory.mktemp("review")
    proc, env, out = start(tmp)
    try:
        port = int(env["ANXIN_RASA_PORT"])
        try:
            rasa_ready(port, proc)
        except AssertionError:
            raise AssertionError(out.text[-4000:]) from None
        assert "review log     events written to the database" in out.text
        care = stack_care(f"sqlite:///{tmp / 'var' / 'anxin.db'}", env)  # on its clock
        yield port, care
        care.close()
    finally:
        stop(proc, out)


def until(fetch: Any, done: Any) -> Any:
    """The broker writes within ~200 ms; a busy machine gets a generous minute."""
    deadline = time.monotonic() + WAIT_S
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_a_rest_conversation_that_books_lunch_is_in_the_api(stack) -> None:
    port, care = stack
    day = weekday_ahead(care.clock, min_days=1)
    sender = "review-elder"

    def say(text: str) -> str:
        return " ".join(m.get("text", "") for m in post(port, sender, text))

    assert "送到家" in say(f"俺想订{day.month}月{day.day}号的午饭")
    assert "称呼" in say("给俺送到家吧")
    assert "对吗" in say("李秀兰")
    assert "订好了" in say("对")
    person = care.people.find_by_identity("rest", sender)  # the care identity: raw
    assert person is not None
    [booking] = care.bookings.upcoming(person.id)
    conversation = f"rest:{sender}"  # Rasa's id, the console's too

    add_user(care, "wang.staff", "staff")
    with TestClient(create_app(care, SETTINGS)) as console:
        assert login(console, "wang.staff").status_code == 303

        def fetch() -> dict[str, Any]:
            response = console.get(f"/api/conversations/{conversation}")
            return response.json() if response.status_code == 200 else {}

        body = until(fetch, lambda b: b and len(b["sessions"][-1]["turns"]) >= 5)
        assert body, "the conversation never reached the console"
        said = [t for s in body["sessions"] for t in s["turns"] if t["event_id"]]
        assert [t["text"] for t in said] == [
            f"俺想订{day.month}月{day.day}号的午饭", "给俺送到家吧", "李秀兰", "对"
        ]  # fmt: skip
        assert said[0]["intent"] == "book_meal" and said[0]["confidence"] > 0.5
        assert {t["channel"] for t in said} == {"rest"} and body["languages"] == ["zh"]
        assert "送到家" in " ".join(said[0]["replies"])
        assert "订好了" in " ".join(said[3]["replies"])
        assert "action_book_meal" in said[3]["actions"]
        assert said[3]["bookings"] == [
            {"id": booking.id, "service": "meal", "slot": f"meal:{day}:lunch:delivery",
             "date": day.isoformat(), "status": "confirmed", "change": "create"}
        ]  # fmt: skip
        assert body["person_id"] == person.id and body["person_name"] == "李秀兰"
        listed = console.get("/api/conversations", params={"intent": "book_meal"}).json()
        assert conversation in [c["id"] for c in listed["conversations"]]
        found = console.get("/api/conversations", params={"q": "送到家"}).json()
        assert [c["id"] for c in found["conversations"]] == [conversation]
        page = console.get(f"/conversations/{conversation}")
        assert page.status_code == 200 and "action_book_meal" in page.text
        assert f"meal:{day}:lunch:delivery" in page.text
