"""People, channel identities, family links, alerts — and their audit trail."""

from __future__ import annotations

import pytest

from care import audit
from care.audit import Actor
from care.errors import (
    InvalidRequest,
    InvalidTransition,
    NotFound,
    UnknownAlert,
    UnknownElder,
    UnknownPerson,
)
from tests.care.helpers import elder


def test_elder_profile_round_trips(care):
    grandma = elder(
        care,
        phone="13800000000",
        preferred_language="zh",
        dietary_needs=["low-sugar", "soft"],
        mobility_needs="walks with a stick",
        needs_transport=True,
        community="花园街道",
        address="南岗区花园街1号",
        interests=["京剧"],
        consent_data=True,
    )
    again = care.people.get(grandma.id)
    assert again == grandma
    assert again.dietary_needs == ["low-sugar", "soft"] and again.needs_transport
    with pytest.raises(InvalidRequest):
        care.people.create("elder", "  ")
    with pytest.raises(InvalidRequest):
        care.people.create("elder", "王", favourite_colour="red")
    with pytest.raises(UnknownPerson):
        care.people.get(424242)


def test_one_person_many_channels(care):
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-123")
    care.people.add_identity(grandma.id, "telegram", "998877")
    assert care.people.find_by_identity("wechat", "oWx-123") == grandma
    assert care.people.find_by_identity("telegram", "998877") == grandma
    assert care.people.find_by_identity("wechat", "someone-else") is None
    other = elder(care, "王大爷")
    with pytest.raises(InvalidRequest):  # an identity belongs to one person only
        care.people.add_identity(other.id, "wechat", "oWx-123")


def test_family_link_lifecycle_is_audited(care):
    mum = elder(care)
    son = care.people.create("family", "李明")
    link = care.people.request_link(mum.id, son.id, "son", can_cancel=False)
    assert (link.status, link.can_book, link.can_cancel) == ("pending", True, False)
    with pytest.raises(UnknownElder):
        care.people.request_link(son.id, mum.id, "mother")  # the elder side must be an elder
    with pytest.raises(InvalidRequest):
        care.people.request_link(mum.id, elder(care, "王大爷").id, "friend")  # and family, family
    active = care.people.consent_link(link.id, Actor.person(mum.id))
    assert active.status == "active" and active.consented_at is not None
    with pytest.raises(InvalidTransition):
        care.people.consent_link(link.id, Actor.person(mum.id))
    revoked = care.people.revoke_link(link.id, Actor.person(son.id))
    assert revoked.status == "revoked"
    assert [lk.status for lk in care.people.links_of(mum.id)] == ["revoked"]
    # Asking again makes a fresh pending request that needs consent again.
    assert care.people.request_link(mum.id, son.id, "son").status == "pending"
    with pytest.raises(NotFound):
        care.people.consent_link(999, Actor.person(mum.id))
    with care.db.read() as s:
        actions = [e.action for e in audit.entries(s, subject=f"family_link:{link.id}")]
    assert actions == [
        "family_link.request",
        "family_link.revoke",
        "family_link.consent",
        "family_link.request",
    ]


def test_alerts_most_urgent_first_then_newest(care, clock):
    grandma = elder(care)
    lonely = care.alerts.raise_alert("loneliness_risk", "low mood 3 times this week", grandma.id)
    clock.advance(minutes=1)
    handoff = care.alerts.raise_alert("handoff", "asked for a person", grandma.id, "conv-1", "rest")
    clock.advance(minutes=1)
    fall = care.alerts.raise_alert("emergency", "fell in the kitchen", grandma.id, "conv-1", "rest")
    clock.advance(minutes=1)
    fall2 = care.alerts.raise_alert("emergency", "chest pain", None, "conv-2", "wechat")
    assert [a.id for a in care.alerts.open_alerts()] == [fall2.id, fall.id, handoff.id, lonely.id]
    acked = care.alerts.acknowledge(fall.id, "wang.staff")
    assert acked.status == "acknowledged" and acked.assigned_to == "wang.staff"
    with pytest.raises(InvalidRequest):
        care.alerts.resolve(fall.id, "wang.staff", "  ")
    care.alerts.resolve(fall.id, "wang.staff", "ambulance came, daughter informed")
    assert fall.id not in [a.id for a in care.alerts.open_alerts()]
    with pytest.raises(InvalidTransition):
        care.alerts.acknowledge(fall.id, "wang.staff")
    with pytest.raises(UnknownAlert):
        care.alerts.resolve(999, "wang.staff", "x")
    with pytest.raises(InvalidRequest):
        care.alerts.raise_alert("party", "x")
    with care.db.read() as s:
        trail = [e.action for e in audit.entries(s, subject=f"alert:{fall.id}")]
    assert trail == ["alert.resolve", "alert.acknowledge", "alert.emergency"]
