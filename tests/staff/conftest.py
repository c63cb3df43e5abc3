"""Console fixtures: the real app over Starlette's TestClient, on SQLite and PostgreSQL.

The database is built by the real migrations (the root ``care`` fixture); users are
created through ``care.staff_users`` and logged in through the real login form.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator, Optional

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from care.audit import Actor
from care.services import CareServices
from care.staff_users import StaffUsers
from staff.app import create_app
from staff.config import StaffSettings
from tests.care.helpers import elder, load_small, slot_id

PASSWORD = "correct horse battery"
SETTINGS = StaffSettings(max_failures_per_username=3, max_failures_per_address=6)
SECRET_PHONE = "13904510078"
SECRET_ADDRESS = "南岗区学府路 88 号 3 单元"
SECRET_MOBILITY = "walks with a frame after a hip fracture"
SECRET_SUMMARY = "说胸口疼，喘不上气"


@pytest.fixture
def app(care: CareServices) -> FastAPI:
    return create_app(care, SETTINGS)


def add_user(care: CareServices, username: str, role: str, password: str = PASSWORD) -> None:
    StaffUsers(care.db, care.clock).create(username, role, password)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client_as(care: CareServices, app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``client_as("staff")``: a browser logged in as a new user with that role."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        username = f"{role}.{len(clients)}"
        add_user(care, username, role)
        client = TestClient(app)
        clients.append(client)
        assert login(client, username).status_code == 303
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def seeded(care: CareServices) -> dict[str, int]:
    """Today's lunch with one booking; alerts of every kind (one already acknowledged)."""
    load_small(care)
    li = elder(
        care,
        phone=SECRET_PHONE,
        address=SECRET_ADDRESS,
        dietary_needs=["diabetic"],
        mobility_needs=SECRET_MOBILITY,
    )
    booking = care.bookings.book(
        li.id, slot_id(care, "meal:2026-11-25:lunch:dine_in"), Actor.person(li.id), "wechat"
    )
    lonely = care.alerts.raise_alert("loneliness_risk", "低落一周", person_id=li.id)
    crisis = care.alerts.raise_alert("crisis", "不想活了", person_id=li.id)
    care.alerts.acknowledge(crisis.id, "someone")
    handoff = care.alerts.raise_alert("handoff", "要找人工", person_id=li.id)
    emergency = care.alerts.raise_alert("emergency", SECRET_SUMMARY, person_id=li.id)
    return {
        "elder": li.id,
        "booking": booking.id,
        "lonely": lonely.id,
        "crisis": crisis.id,
        "handoff": handoff.id,
        "emergency": emergency.id,
    }


class Recorder:
    """Rasa's own events (rasa.shared.core.events), published through the real broker."""

    def __init__(self, care: CareServices) -> None:
        from anxin.event_broker import BatchingSQLEventBroker

        self.care = care
        self.broker = BatchingSQLEventBroker(care.settings.db_url, max_delay_s=0.01)
        self.messages = 0

    def session(self, sender: str) -> None:
        from rasa.shared.core.events import ActionExecuted, SessionStarted

        at = self.care.clock().timestamp()
        for e in (ActionExecuted("action_session_start", timestamp=at),
                  SessionStarted(timestamp=at), ActionExecuted("action_listen", timestamp=at)):
            self.broker.publish({"sender_id": sender, **e.as_dict()})  # fmt: skip

    def turn(
        self,
        sender: str,
        text: str,
        intent: str,
        confidence: float = 0.95,
        replies: tuple[str, ...] = (),
        actions: tuple[str, ...] = (),
        slots: Optional[dict[str, Any]] = None,
        channel: str = "rest",
        language: str = "zh",
    ) -> str:
        """One user message and the assistant's answer; returns the message id."""
        from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

        self.messages += 1
        message_id = f"m{self.messages}"
        at = self.care.clock().timestamp()
        events: list[Any] = [
            UserUttered(
                text,
                intent={"name": intent, "confidence": confidence},
                entities=[{"entity": "language", "value": language}],
                input_channel=channel,
                message_id=message_id,
                timestamp=at,
            )
        ]
        events += [ActionExecuted(a, timestamp=at) for a in actions]
        events += [SlotSet(k, v, timestamp=at) for k, v in (slots or {}).items()]
        events += [BotUttered(r, timestamp=at) for r in replies]
        events.append(ActionExecuted("action_listen", timestamp=at))
        for e in events:
            self.broker.publish({"sender_id": sender, **e.as_dict()})
        return message_id

    def flush(self) -> None:
        assert self.broker.flush(60)


@pytest.fixture
def recorder(care: CareServices) -> Iterator[Recorder]:
    r = Recorder(care)
    yield r
    r.broker.close_now()
