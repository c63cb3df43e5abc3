"""Elders and families in the console: identities, family links (approve, revoke), moods.

The real app, the real database (SQLite and PostgreSQL), links made by real invitation
codes, and the booking rules of care.booking judging what a revoked relative may do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from care import models as m
from care.audit import Actor
from care.errors import NotPermitted
from care.services import CareServices
from tests.care.helpers import STAFF, slot_id
from tests.conftest import MovableClock
from tests.staff.conftest import csrf_from

As = Callable[[str], TestClient]
ELDER_OPENID = "oElderWeChat-openid-4471"
RELATIVE_TG = "730015529"
REASON = "老人说不认识此人"
SLOT = "meal:2026-11-26:lunch:dine_in"


@pytest.fixture
def linked(care: CareServices, seeded: dict[str, int]) -> dict[str, int]:
    """The seeded elder with a WeChat identity and a pending request from her son (English)."""
    li = seeded["elder"]
    care.people.add_identity(li, "wechat", ELDER_OPENID)
    invite = care.family.create_invite(li, STAFF)
    link = care.family.redeem(
        invite.code, "telegram", RELATIVE_TG, "Li Ming", relation="son", language="en"
    )
    return {**seeded, "link": link.id, "family": link.family_id}


def post(client: TestClient, path: str, **form: str) -> Any:
    token = csrf_from(client.get("/").text)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)


def link_row(care: CareServices, link_id: int) -> m.FamilyLink:
    with care.db.read() as s:
        row = s.get(m.FamilyLink, link_id)
        s.expunge(row)
        return row


def outbox(care: CareServices, person_id: int) -> list[tuple[str, str]]:
    with care.db.read() as s:
        rows = s.scalars(
            select(m.Notification)
            .where(m.Notification.person_id == person_id)
            .order_by(m.Notification.id)
        )
        return [(r.kind, r.message) for r in rows]


def audit_rows(care: CareServices, action: str) -> list[m.AuditEntry]:
    with care.db.read() as s:
        rows = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)))
        s.expunge_all()
        return rows


def counts(care: CareServices) -> tuple[int, int]:
    with care.db.read() as s:
        notes = s.scalar(select(func.count()).select_from(m.Notification))
        changes = s.scalar(
            select(func.count())
            .select_from(m.AuditEntry)
            .where(m.AuditEntry.action.like("family_link.%"))
        )
        return notes, changes


def test_staff_see_identities_links_and_moods_on_the_profile(
    care: CareServices, client_as: As, linked: dict[str, int], clock: MovableClock
):
    now = clock.at
    clock.at = now - timedelta(days=2)  # Monday 23 November
    care.comfort.record("wechat", ELDER_OPENID, "lonely")
    clock.at = now
    care.comfort.record("wechat", ELDER_OPENID, "sad")
    care.comfort.record("wechat", ELDER_OPENID, "ok")
    staff = client_as("staff")
    page = staff.get(f"/elders/{linked['elder']}")
    assert page.status_code == 200
    identities = page.text.split('id="identities"')[1].split("</table>")[0]
    assert "wechat" in identities and ELDER_OPENID in identities
    row = page.text.split(f'id="link-{linked["link"]}"')[1].split("</tr>")[0]
    assert "Li Ming" in row and "儿子" in row and "待确认" in row
    assert f"/elders/{linked['elder']}/links/{linked['link']}/approve" in row
    assert "11月25日 周三" in page.text.split('id="mood-2026-11-25"')[1].split("</tr>")[0]
    monday = page.text.split('id="mood-2026-11-23"')[1].split("</tr>")[0]
    assert "11月23日 周一" in monday and "<td>1</td><td>0</td><td>0</td>" in monday
    english = staff.get(f"/elders/{linked['elder']}?lang=en").text
    assert "Wed 25 Nov" in english and "Pending" in english and ">son<" in english
    views = [e for e in audit_rows(care, "elder.view") if e.subject == f"person:{linked['elder']}"]
    assert views and views[-1].actor.startswith("staff:")


def test_a_volunteer_sees_masked_identities_no_moods_and_no_actions(
    care: CareServices, client_as: As, linked: dict[str, int]
):
    care.comfort.record("wechat", ELDER_OPENID, "lonely")
    volunteer = client_as("volunteer")
    page = volunteer.get(f"/elders/{linked['elder']}")
    assert page.status_code == 200
    assert ELDER_OPENID not in page.text and "***71" in page.text
    assert "Li Ming" in page.text and "待确认" in page.text  # names and states, nothing to press
    assert "/approve" not in page.text and "/revoke" not in page.text
    assert 'id="moods"' not in page.text and "心情记录已隐藏" in page.text
    body = volunteer.get(f"/api/elders/{linked['elder']}").json()
    assert body["identities"] == [
        {
            "channel": "wechat",
            "external_id": "***71",
            "created_at": body["identities"][0]["created_at"],
        }
    ]
    assert ELDER_OPENID not in str(body)
    views = [e for e in audit_rows(care, "elder.view") if e.actor.startswith("staff:volunteer")]
    assert len(views) == 2 and all(e.detail["redacted"] for e in views)


def test_staff_approve_then_revoke_and_the_relative_can_no_longer_book(
    care: CareServices, client_as: As, linked: dict[str, int]
):
    elder_id, family_id, link_id = linked["elder"], linked["family"], linked["link"]
    staff = client_as("staff")
    relative = Actor.person(family_id)
    with pytest.raises(NotPermitted):  # pending: nothing allowed yet
        care.bookings.book(elder_id, slot_id(care, SLOT), relative, "telegram")

    done = post(staff, f"/elders/{elder_id}/links/{link_id}/approve")
    assert done.status_code == 303
    assert link_row(care, link_id).status == "active"
    booking = care.bookings.book(elder_id, slot_id(care, SLOT), relative, "telegram")
    assert booking.status == "confirmed"
    assert (
        "family_link_approved",
        "工作人员已为您和儿子Li Ming办好关联，Li Ming现在可以替您预约了。",
    ) in outbox(care, elder_id)
    assert (
        "family_link_approved",
        "Your link with 李秀兰 is confirmed. You can now book for them.",
    ) in outbox(care, family_id)
    [consent] = audit_rows(care, "family_link.consent")
    assert consent.actor == "staff:staff.0" and consent.subject == f"family_link:{link_id}"

    done = post(staff, f"/elders/{elder_id}/links/{link_id}/revoke", reason=f"  {REASON} ")
    assert done.status_code == 303
    row = link_row(care, link_id)
    assert row.status == "revoked" and row.revoked_at is not None
    [revoke] = audit_rows(care, "family_link.revoke")
    assert revoke.actor == "staff:staff.0"
    assert revoke.detail == {"reason": REASON, "was": "active"}
    assert outbox(care, family_id)[-1] == (
        "family_link_revoked",
        "Your link with 李秀兰 has ended. You can no longer book for them. "
        "Questions? Please contact the care centre.",
    )
    assert outbox(care, elder_id)[-1][0] == "family_link_revoked"
    assert "不能再替您预约" in outbox(care, elder_id)[-1][1]
    with pytest.raises(NotPermitted):
        care.bookings.book(elder_id, slot_id(care, SLOT), relative, "telegram")
    with pytest.raises(NotPermitted):
        care.bookings.cancel(booking.id, relative, "telegram")

    page = staff.get(f"/elders/{elder_id}").text
    shown = page.split(f'id="link-{link_id}"')[1].split("</tr>")[0]
    assert "已取消" in shown and REASON in shown and "staff.0" in shown
    assert "/approve" not in shown and "/revoke" not in shown
    api = staff.get(f"/api/elders/{elder_id}").json()["family_links"]
    assert [(x["id"], x["status"], x["reason"], x["decided_by"]) for x in api] == [
        (link_id, "revoked", REASON, "staff.0")
    ]
    masked = client_as("volunteer").get(f"/api/elders/{elder_id}").json()["family_links"]
    assert masked[0]["reason"] == "***" and REASON not in str(masked)


def test_approving_a_revoked_link_or_revoking_twice_is_a_409_that_changes_nothing(
    care: CareServices, client_as: As, linked: dict[str, int]
):
    elder_id, link_id = linked["elder"], linked["link"]
    staff = client_as("staff")
    assert post(staff, f"/elders/{elder_id}/links/{link_id}/approve").status_code == 303
    again = post(staff, f"/elders/{elder_id}/links/{link_id}/approve")
    assert again.status_code == 409 and "这个关联已经确认过了" in again.text
    assert (
        post(staff, f"/elders/{elder_id}/links/{link_id}/revoke", reason=REASON).status_code == 303
    )
    before = counts(care)
    twice = post(staff, f"/elders/{elder_id}/links/{link_id}/revoke", reason="again")
    assert twice.status_code == 409 and "这个关联已经取消过了" in twice.text
    revived = post(staff, f"/elders/{elder_id}/links/{link_id}/approve")
    assert revived.status_code == 409 and "不能再确认" in revived.text
    english = post(staff, f"/elders/{elder_id}/links/{link_id}/approve?lang=en")
    assert english.status_code == 409 and "was revoked and cannot be approved" in english.text
    assert counts(care) == before
    assert link_row(care, link_id).status == "revoked"


def test_unknown_links_are_404_and_a_missing_reason_is_the_form_again(
    care: CareServices, client_as: As, linked: dict[str, int]
):
    elder_id, link_id = linked["elder"], linked["link"]
    other = care.people.create("elder", "王桂芳")
    staff = client_as("staff")
    before = counts(care)
    for path in (
        f"/elders/{elder_id}/links/999999/approve",
        f"/elders/{other.id}/links/{link_id}/approve",  # the link is another elder's
        f"/elders/999999/links/{link_id}/revoke",
    ):
        assert post(staff, path, reason=REASON).status_code == 404, path
    assert staff.get("/elders/999999").status_code == 404
    assert staff.get("/api/elders/999999").status_code == 404
    empty = post(staff, f"/elders/{elder_id}/links/{link_id}/revoke", reason="   ")
    assert empty.status_code == 400 and "取消关联要写明原因" in empty.text
    assert 'name="reason"' in empty.text
    too_long = post(staff, f"/elders/{elder_id}/links/{link_id}/revoke", reason="x" * 501)
    assert too_long.status_code == 400
    assert counts(care) == before
    assert link_row(care, link_id).status == "pending"


def test_volunteers_and_forged_tokens_cannot_change_a_link(
    care: CareServices, client_as: As, linked: dict[str, int]
):
    elder_id, link_id = linked["elder"], linked["link"]
    before = counts(care)
    volunteer = client_as("volunteer")
    for action in ("approve", "revoke"):
        refused = post(volunteer, f"/elders/{elder_id}/links/{link_id}/{action}", reason=REASON)
        assert refused.status_code == 403, action
    staff = client_as("staff")
    for form in ({"csrf_token": "forged"}, {}):
        forged = staff.post(
            f"/elders/{elder_id}/links/{link_id}/approve", data=form, follow_redirects=False
        )
        assert forged.status_code == 403
    other = client_as("staff")  # a real token, but another session's
    stolen = csrf_from(other.get("/").text)
    crossed = staff.post(
        f"/elders/{elder_id}/links/{link_id}/revoke",
        data={"csrf_token": stolen, "reason": REASON},
        follow_redirects=False,
    )
    assert crossed.status_code == 403
    assert counts(care) == before
    assert link_row(care, link_id).status == "pending"


def test_the_elders_list_shows_who_has_requests_waiting(
    care: CareServices, client_as: As, linked: dict[str, int]
):
    page = client_as("staff").get("/elders").text
    assert "待确认 1" in page.split(f'id="elder-{linked["elder"]}"')[1].split("</tr>")[0]
    assert (
        post(
            client_as("staff"), f"/elders/{linked['elder']}/links/{linked['link']}/approve"
        ).status_code
        == 303
    )
    again = client_as("staff").get("/elders").text
    assert "待确认" not in again.split(f'id="elder-{linked["elder"]}"')[1].split("</tr>")[0]


def test_the_dashboard_shows_the_low_mood_trend_and_who_is_at_risk_without_names(
    care: CareServices, client_as: As, linked: dict[str, int], clock: MovableClock
):
    now = clock.at
    care.people.register_elder("wechat", "oAnother-openid", "王桂芳")
    for days_ago, who, mood in [
        (20, ELDER_OPENID, "sad"),  # outside the 14 days
        (13, ELDER_OPENID, "lonely"),  # first day shown: Thursday 12 November
        (3, ELDER_OPENID, "lonely"),
        (1, ELDER_OPENID, "sad"),
        (0, ELDER_OPENID, "lonely"),  # three in a week: at risk
        (0, "oAnother-openid", "sad"),
        (0, "oAnother-openid", "ok"),
        (0, "unregistered-conversation", "lonely"),
    ]:
        clock.at = now - timedelta(days=days_ago)
        care.comfort.record("wechat", who, mood)
    clock.at = now
    page = client_as("staff").get("/").text
    trend = page.split('id="mood-trend"')[1].split("</table>")[0]
    assert trend.count("<tr id=") == 14
    assert trend.index('id="mood-2026-11-12"') < trend.index('id="mood-2026-11-25"')
    assert "2026-11-11" not in trend and "2026-11-05" not in trend
    today = trend.split('id="mood-2026-11-25"')[1].split("</tr>")[0]
    assert "11月25日 周三" in today
    assert "<td>3</td>" in today and "width: 100%" in today  # the busiest day
    quiet = trend.split('id="mood-2026-11-24"')[1].split("</tr>")[0]
    assert "<td>1</td>" in quiet and "width: 33%" in quiet
    empty = trend.split('id="mood-2026-11-20"')[1].split("</tr>")[0]
    assert "<td>0</td>" in empty and "width: 0%" in empty
    assert "<strong>1</strong>" in page.split('id="at-risk"')[1].split("</p>")[0]
    for name in ("李秀兰", "王桂芳", "Li Ming"):
        assert name not in page
    english = client_as("volunteer").get("/?lang=en").text
    assert "Low moods (lonely, sad) in the last 14 days" in english
    assert "Wed 25 Nov" in english and "loneliness risk" in english


def test_two_staff_ending_one_link_at_once_change_it_once(
    care: CareServices, linked: dict[str, int]
):
    """The link row is locked until commit: one ending, one 409, one pair of messages."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from care.errors import InvalidTransition
    from care.family_staff import FamilyStaff

    ops, start = FamilyStaff(care.db, care.clock), Barrier(2)
    before = counts(care)

    def end(staff: str) -> str:
        start.wait()
        try:
            ops.revoke(linked["elder"], linked["link"], staff, REASON)
        except InvalidTransition:
            return "409"
        return "done"

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(end, ["wang.li", "zhao.min"]))
    assert results == ["409", "done"]
    assert counts(care) == (before[0] + 2, before[1] + 1)
