"""One person across channels: a one-time code from one channel links another."""

from __future__ import annotations

from datetime import timedelta

import pytest

from care import models as m
from care.audit import Actor
from care.errors import IdentityTaken, InvalidCode, TooManyAttempts
from tests.care.helpers import elder, load_small, slot_id


def code_for(care, person):
    return care.identities.create_code(person.id, Actor.person(person.id)).code


def test_a_code_from_wechat_makes_telegram_the_same_person(care):
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oLI")
    code = code_for(care, grandma)
    assert care.identities.is_channel_code(code)
    linked = care.identities.redeem(code, "telegram", "777")
    assert linked is not None and linked.id == grandma.id
    assert care.people.find_by_identity("telegram", "777").id == grandma.id
    assert not care.identities.is_channel_code(code)  # single use
    with pytest.raises(InvalidCode) as used:
        care.identities.redeem(code, "telegram", "888")
    assert used.value.details["reason"] == "used"


def test_family_codes_are_left_to_the_family_flow_and_theirs_refuse_channel_codes(care):
    grandma = elder(care)
    family_code = care.family.create_invite(grandma.id, Actor.person(grandma.id)).code
    assert care.identities.redeem(family_code, "telegram", "777") is None
    assert not care.identities.is_channel_code(family_code)
    channel_code = code_for(care, grandma)
    with pytest.raises(InvalidCode) as wrong:
        care.family.redeem(channel_code, "telegram", "999", "张伟", "son")
    assert wrong.value.details["reason"] == "unknown"
    assert care.identities.redeem("000000", "telegram", "777") is None  # not counted here


def test_codes_expire_after_thirty_minutes(care, clock):
    grandma = elder(care)
    code = code_for(care, grandma)
    clock.advance(minutes=31)
    assert not care.identities.is_channel_code(code)
    with pytest.raises(InvalidCode) as late:
        care.identities.redeem(code, "telegram", "777")
    assert late.value.details["reason"] == "expired"


def test_an_empty_stranger_account_is_taken_over_but_not_one_with_a_history(care):
    load_small(care)
    grandma = elder(care)
    stranger = elder(care, "临时")  # wrote on Telegram once, before linking
    care.people.add_identity(stranger.id, "telegram", "777")
    assert care.identities.redeem(code_for(care, grandma), "telegram", "777").id == grandma.id

    busy = elder(care, "王大爷")
    care.people.add_identity(busy.id, "telegram", "555")
    care.bookings.book(
        busy.id, slot_id(care, "meal:2026-11-26:lunch:dine_in"), Actor.person(busy.id), "telegram"
    )
    with pytest.raises(IdentityTaken):
        care.identities.redeem(code_for(care, grandma), "telegram", "555")
    assert care.people.find_by_identity("telegram", "555").id == busy.id


def test_guessing_channel_codes_locks_the_identity(care):
    grandma = elder(care)
    code = code_for(care, grandma)
    expired = code_for(care, elder(care, "过期"))
    with care.db.write() as s:  # the second code has expired
        s.query(m.LinkInvite).filter(m.LinkInvite.code == expired).update(
            {"expires_at": care.clock() - timedelta(seconds=1)}
        )
    for _ in range(5):
        with pytest.raises(InvalidCode):
            care.identities.redeem(expired, "telegram", "666")
    with pytest.raises(TooManyAttempts):
        care.identities.redeem(code, "telegram", "666")  # even the right one, for now
