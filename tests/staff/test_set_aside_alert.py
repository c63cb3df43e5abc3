"""A message set aside after it crashed the assistant is an alert staff see and act on in
the console, labelled in their language; volunteers see that it exists, not its words."""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

from starlette.testclient import TestClient

from care.services import CareServices

from .conftest import csrf_from

As = Callable[[str], TestClient]


def failed(client: TestClient) -> list[dict]:
    return [a for a in client.get("/api/alerts").json()["alerts"] if a["kind"] == "message_failed"]


def test_staff_see_a_message_set_aside_and_resolve_it(
    care: CareServices, client_as: As, clock
) -> None:
    elder = care.people.create("elder", "王秀英")
    care.people.add_identity(elder.id, "wechat", "oWang")
    care.channels.take_in("wechat", "msg:1", "oWang", "明天午饭送到家", lease=timedelta(0))
    clock.advance(seconds=1)  # its process died mid-turn: the lease lapsed, work still marked
    [aside] = care.channels.set_aside_crashed("wechat")

    staff = client_as("staff")
    page = staff.get("/alerts").text
    assert "消息未能处理" in page and "明天午饭送到家" in page
    assert 'href="/conversations/wechat%3AoWang"' in page
    [alert] = failed(staff)
    assert (alert["person_id"], alert["channel"], alert["conversation_id"]) == (
        elder.id, "wechat", "wechat:oWang"
    )

    [seen] = failed(client_as("volunteer"))
    assert "明天午饭" not in seen["summary"]  # what people said is for staff only

    token = csrf_from(page)
    done = staff.post(f"/alerts/{alert['id']}/resolve",
                      data={"csrf_token": token, "note": "打电话问过了，已订好"})  # fmt: skip
    assert done.status_code == 200
    assert failed(staff) == []
    assert [h.id for h in care.channels.set_aside("wechat")] == [aside.id]  # still kept
