"""Rasa's sender ids, namespaced by channel (care.senders): pure rules, fixed vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from care.senders import CHANNELS, UNKNOWN, external_for, request_key, sender_id, split_sender


@pytest.mark.parametrize(
    "channel, external, rasa",
    [
        ("telegram", "123", "telegram:123"),
        ("telegram", "-100123", "telegram:-100123"),
        ("wechat", "oWx-Abc_1", "wechat:oWx-Abc_1"),
        ("rest", "elder-zh", "rest:elder-zh"),
        ("voice", "+8613800138000", "voice:+8613800138000"),
        # A REST client naming a Telegram chat stays a REST client.
        ("rest", "telegram:123", "rest:telegram:123"),
        ("voice", "wechat:o1", "voice:wechat:o1"),
    ],
)
def test_each_channel_has_its_own_namespace(channel, external, rasa):
    assert sender_id(channel, external) == rasa
    assert split_sender(rasa) == (channel, external)


def test_the_same_id_on_two_channels_is_two_conversations():
    assert sender_id("rest", "123") != sender_id("telegram", "123")
    assert external_for("telegram", sender_id("rest", "123")) is None
    assert external_for("telegram", sender_id("telegram", "123")) == "123"
    assert external_for("rest", "rest:telegram:123") == "telegram:123"


@pytest.mark.parametrize("legacy", ["123", "elder-zh", "sms:5", "default", ":x", "rest:", ""])
def test_an_id_that_names_no_channel_belongs_to_nobody(legacy):
    assert split_sender(legacy) == (UNKNOWN, legacy)
    for channel in CHANNELS:
        assert external_for(channel, legacy) is None
    assert external_for(UNKNOWN, legacy) is None
    if legacy:  # joined again to itself
        assert sender_id(UNKNOWN, legacy) == legacy


def test_no_new_namespace_by_mistake():
    with pytest.raises(ValueError):
        sender_id("sms", "5")
    with pytest.raises(ValueError):
        sender_id("telegram", "")
    with pytest.raises(ValueError):  # "unknown" cannot be used to forge a channel's id
        sender_id(UNKNOWN, "telegram:123")


def test_the_booking_key_is_channel_external_and_message():
    assert request_key("wechat:oWx-1", "msg:42") == "wechat:oWx-1:msg:42"
    assert request_key(sender_id("rest", "meal-elder"), 7) == "rest:meal-elder:7"


@given(channel=st.sampled_from(sorted(CHANNELS)), external=st.text(min_size=1, max_size=40))
def test_split_undoes_join(channel, external):
    assert split_sender(sender_id(channel, external)) == (channel, external)


@given(anything=st.text(min_size=1, max_size=40))
def test_join_undoes_split(anything):
    assert sender_id(*split_sender(anything)) == anything
