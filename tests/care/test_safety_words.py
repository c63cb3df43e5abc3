"""Danger words: every miss of the classifier found by cross-validation, and ordinary speech."""

from __future__ import annotations

import pytest

from care.safety_words import danger_in

EMERGENCY = [
    "半边身子没劲", "帮俺叫120", "眼前一黑差点晕过去", "着火了", "胳膊腿不听使唤了", "俺心脏疼",
    "打120", "救救俺", "家里有煤气味儿", "喘不上来气了", "我妈半边脸麻了", "快叫救护车",
    "俺吃了一把安眠药", "i fell down", "sos", "i think i'm having a stroke",
    "my arm and leg are weak on one side", "i'm on the floor", "i can't feel one side of my body",
    "i feel like i'm going to faint", "there's a fire", "it's an emergency", "heart attack",
    "hlep", "my dad collapsed", "call 120", "i can't speak properly", "her mouth is drooping",
    "i'm bleeding and it won't stop", "my wife won't wake up", "call an ambulance",
    "help me please", "I've got chest pains", "I took all my pills",
    "俺吃错药了 吃了一把", "呼吸不了了", "i've hurt my head badly", "come fast",
    "my lips are going blue", "not getting enough air", "please come now",
    "i feel awful and i can't stand up", "i need a doctor right now",
    "i need a doctor now it's urgent", "i'm covered in blood", "心脏病又犯了 难受",
    "i slipped in the shower", "mum slipped in the bath", "she's taken too much medicine",
    "i can't feel my hand",
]  # fmt: skip
CRISIS = [
    "俺走了孩子就轻松了", "俺攒了一把安眠药", "想结束这一切", "想拿刀割自己", "俺不活了", "想自杀",
    "俺活够了", "晚上睡着了别醒过来就好了", "俺这两天老想不开", "我有点想不开了",
    "没啥可留恋的了", "活着没啥意思了", "想去跳江",
    "i've been saving up my sleeping pills", "i don't want to wake up tomorrow",
    "they'd be better off without me", "i want to kill myself", "i don't see the point in going on",
    "nobody would miss me if i was gone", "i've thought about how i would do it",
    "there's no reason to live", "i'm just a burden to everyone", "i'm thinking of ending my life",
    "i'm going to take all my tablets", "i want to swallow all my sleeping pills",
    "俺要是没了 孩子就轻松了", "俺还是死了好", "想跟老头子一块儿走", "绳子都准备好了",
    "i can't go on like this", "i wish i hadn't woken up this morning", "i'm going to overdose",
    "i've been collecting my tablets", "what is there to live for", "i cut my wrists",
    "they won't miss me", "what's the point in carrying on", "i feel like dying",
    "i'd be no loss to anyone", "i want to overdose", "i cut my arms",
    "i want to disappear and never come back", "what have i got to live for",
    "i'd rather not be here", "俺走了他们就省事了", "i've got a stash of pills",
    "i want to sleep forever", "i know how i'd do it", "i hope i don't wake up",
]  # fmt: skip
ORDINARY = [
    "该喝药了", "俺想订明天的午饭", "我想约个门诊看看腰", "心里难受", "我有点孤单", "12月1号",
    "我睡不着想开点安眠药", "想找个老伴儿", "打电话给我", "help me book lunch",
    "can you help me with my booking", "i'd like to see a doctor about my knee",
    "call me on friday", "my son will book for me", "i'm sad today", "晚上七点", "中午吃啥",
    "the fire station bus stop", "转人工", "帮帮我订个饭", "早上起不来",
    "我腿脚不好动不了 能送饭吗", "我劝老伴儿别想不开",
    "胳膊抬不起来 想看看中医", "不想拖累孩子 想去日托", "他是怎么死的", "i fell asleep after lunch",
    "my gums are bleeding a little", "i don't want to be a burden, can you deliver lunch",
    "i'm going to take my tablets after lunch", "i want to take my pills with dinner",
    "想跟老伴儿一块儿去吃饭", "俺想跟老头子一块儿去日托", "come and see me on friday",
    "i cut my toenails", "i slipped on the ice last winter", "i took my medicine",
    "i hope i wake up early for the trip", "my son will miss me when he goes back",
    "i can't stand up for long",
]  # fmt: skip


@pytest.mark.parametrize("text", EMERGENCY)
def test_emergencies(text):
    assert danger_in(text) == "emergency"


@pytest.mark.parametrize("text", CRISIS)
def test_crises(text):
    assert danger_in(text) == "crisis"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_speech(text):
    assert danger_in(text) is None
