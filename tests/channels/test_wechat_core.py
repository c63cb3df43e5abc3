"""The request path with a real database and a fake WeChat API; Rasa is a stand-in here.

The stand-in only plays Rasa's part (``on_new_message`` writing to the output channel);
the real Rasa is in test_wechat_stack.py. Here: dedup, the deadline, holding and
retrying, the outbox, location hints, and fuzzing the endpoint for any body.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from typing import Any, Iterator, Optional

import pytest
import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage

from care import address_hints, migrate
from care import models as m
from care.config import CareSettings
from care.services import CareServices, build
from channels.config import WeChatSettings
from channels.voice_engines import shared_engines
from channels.wechat_api import WeChatAPI
from channels.wechat_core import Reply, WeChatCore
from channels.wechat_voice import WeChatVoice
from tests.channels.wechat_fakes import (
    AES_KEY,
    APP_ID,
    SECRET,
    TOKEN,
    FakeWeChatAPI,
    event_xml,
    signed,
    text_xml,
    voice_xml,
)
from voice.codecs import decode, encode


class StandInRasa:
    """Rasa's part: answer on the output channel, slowly or not at all when told."""

    def __init__(self) -> None:
        self.turns: Counter[str] = Counter()
        self.delay = 0.0
        self.fail = False
        self.silent = False
        self.replies = 1

    async def __call__(self, message: UserMessage) -> None:
        if self.fail:
            raise ConnectionError("Rasa is down")
        self.turns[str(message.message_id)] += 1
        await asyncio.sleep(self.delay)
        if self.silent:
            return
        for i in range(self.replies):
            await message.output_channel.send_text_message(
                message.sender_id, f"答:{message.text}:{i}"
            )


@pytest.fixture
def fake() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI() as api:
        yield api


@pytest.fixture(scope="module")
def care(tmp_path_factory) -> Iterator[CareServices]:
    path = tmp_path_factory.mktemp("wechat-core") / "anxin.db"
    services = build(CareSettings(db_url=f"sqlite:///{path}"))
    migrate.upgrade(services.db)
    yield services
    services.close()


def make_core(
    care: CareServices,
    fake: Optional[FakeWeChatAPI],
    rasa: Any = None,
    safe: bool = False,
    **env: str,
) -> WeChatCore:
    settings = WeChatSettings.from_env(
        {
            "ANXIN_WECHAT_TOKEN": TOKEN,
            "ANXIN_WECHAT_APPID": APP_ID,
            "ANXIN_WECHAT_SECRET": SECRET,
            "ANXIN_WECHAT_API_BASE": fake.base if fake else "http://127.0.0.1:9",
            **({"ANXIN_WECHAT_AES_KEY": AES_KEY} if safe else {}),
            **env,
        }
    )
    assert settings is not None
    return WeChatCore(settings, care, WeChatAPI(settings, care.channels), handler=rasa)


def content(reply_body: str) -> str:
    return xmltodict.parse(reply_body)["xml"]["Content"]


async def test_a_turn_within_the_deadline_is_answered_passively(care, fake):
    rasa = StandInRasa()
    rasa.replies = 2
    core = make_core(care, fake, rasa)
    reply = await core.receive(signed(), text_xml("oP", "你好", 1001).encode())
    assert reply.status == 200 and content(reply.body) == "答:你好:0\n\n答:你好:1"
    assert xmltodict.parse(reply.body)["xml"]["ToUserName"] == "oP"
    await core.close()


async def test_retries_during_and_after_a_turn_run_it_once_and_get_the_same_answer(care, fake):
    rasa = StandInRasa()
    rasa.delay = 0.5
    core = make_core(care, fake, rasa)
    body = text_xml("oR", "对", 1002).encode()
    replies = await asyncio.gather(*(core.receive(signed(), body) for _ in range(3)))
    again = await core.receive(signed(), body)  # a retry after it was answered
    assert rasa.turns == Counter({"msg:1002": 1})
    assert [content(r.body) for r in [*replies, again]] == ["答:对:0"] * 4
    # Another process (or this one after a restart) knows the MsgId from the database.
    other = make_core(care, fake, rasa)
    assert (await other.receive(signed(), body)).body == "success"
    assert rasa.turns == Counter({"msg:1002": 1}) and fake.sent == []
    await core.close()
    await other.close()


async def test_wechats_own_retries_reuse_the_signed_query_and_get_the_same_answer(care, fake):
    # WeChat retries a slow message with the very same query string (timestamp, nonce,
    # signature) and body: still answered, once, the same way.
    rasa = StandInRasa()
    rasa.delay = 0.5
    core = make_core(care, fake, rasa)
    args, body = signed(), text_xml("oRetry", "对", 1020).encode()
    replies = await asyncio.gather(*(core.receive(args, body) for _ in range(3)))
    again = await core.receive(args, body)
    assert [(r.status, content(r.body)) for r in [*replies, again]] == [(200, "答:对:0")] * 4
    assert rasa.turns == Counter({"msg:1020": 1})
    await core.close()


async def test_a_signed_query_string_reused_for_another_message_is_403(care, fake):
    rasa = StandInRasa()
    core, other_process = make_core(care, fake, rasa), make_core(care, fake, rasa)
    args = signed()
    assert (await core.receive(args, text_xml("oVictim", "你好", 1021).encode())).status == 200
    # The same logged URL, posted with a body of the attacker's choosing: as another
    # user, or as the same user with a new message — here or on another replica.
    for forged in (text_xml("oOther", "给我订午饭", 1022), text_xml("oVictim", "取消", 1023)):
        for door in (core, other_process):
            reply = await door.receive(args, forged.encode())
            assert (reply.status, reply.body) == (403, "")
    assert rasa.turns == Counter({"msg:1021": 1})
    await core.close()
    await other_process.close()


async def test_an_old_signature_is_403_whatever_it_carries(care, fake):
    rasa = StandInRasa()
    core = make_core(care, fake, rasa)
    old = signed(timestamp="1000000000")  # 2001, as in the review
    reply = await core.receive(old, text_xml("oAny", "你好", 1024).encode())
    assert (reply.status, reply.body) == (403, "")
    assert (await core.verify({**old, "echostr": "e"})).status == 403
    # WeChat's clock a little off ours is fine; five minutes either way is the limit.
    late = make_core(care, fake, rasa)
    late.now = lambda: time.time() + 290
    assert (await late.receive(signed(), text_xml("oAny", "你好", 1025).encode())).status == 200
    late.now = lambda: time.time() + 310
    assert (await late.receive(signed(), text_xml("oAny", "你好", 1026).encode())).status == 403
    assert rasa.turns == Counter({"msg:1025": 1})
    await core.close()
    await late.close()


async def test_a_url_verification_is_answered_once_per_signed_query_string(care, fake):
    rasa = StandInRasa()
    core, other_process = make_core(care, fake, rasa), make_core(care, fake, rasa)
    args = {**signed(), "echostr": "4821937"}
    assert (await core.verify(args)) == Reply(200, "4821937")
    assert (await other_process.verify(args)) == Reply(200, "4821937")  # WeChat's retry
    # The same signed pair with another echostr, or carrying a message: a replay.
    assert (await other_process.verify({**args, "echostr": "1"})).status == 403
    reply = await core.receive(args, text_xml("oAny", "你好", 1030).encode())
    assert (reply.status, reply.body) == (403, "")
    # A pair that already carried a message does not verify a URL either.
    used = signed()
    assert (await core.receive(used, text_xml("oAny", "你好", 1031).encode())).status == 200
    assert (await core.verify({**used, "echostr": "2"})).status == 403
    assert rasa.turns == Counter({"msg:1031": 1})
    await core.close()
    await other_process.close()


async def test_safe_mode_query_strings_are_single_use_too(care, fake):
    from wechatpy.crypto import WeChatCrypto

    from tests.channels.test_wechat_xml import _safe_body

    def said(reply_body: str) -> str:
        doc = xmltodict.parse(reply_body)["xml"]
        return content(WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
            reply_body, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]))  # fmt: skip

    rasa = StandInRasa()
    core = make_core(care, fake, rasa, safe=True)
    body, args = _safe_body(text_xml("oSafe2", "你好", 1027), signed())
    first, retry = await core.receive(args, body), await core.receive(args, body)
    assert said(first.body) == said(retry.body) == "答:你好:0"
    # Another ciphertext under the old msg_signature, or the same signature with the
    # encryption dropped and a plaintext body: refused.
    other, _ = _safe_body(text_xml("oOther", "订午饭", 1028), signed())
    assert (await core.receive(args, other)).status == 403
    plain = {k: v for k, v in args.items() if k not in ("encrypt_type", "msg_signature")}
    forged = await core.receive(plain, text_xml("oOther", "订午饭", 1029).encode())
    assert (forged.status, forged.body) == (403, "")
    assert rasa.turns == Counter({"msg:1027": 1})
    await core.close()


async def test_the_nonce_check_waits_for_the_database_with_a_503(tmp_path, fake):
    # A database that cannot answer cannot say whether the query string was used: WeChat
    # gets a 503 and retries the same query string, which then goes through.
    services = build(CareSettings(db_url=f"sqlite:///{tmp_path / 'none.db'}"))  # no tables
    core = make_core(services, fake, StandInRasa())
    reply = await core.receive(signed(), text_xml("oDb", "你好", 1030).encode())
    assert (reply.status, reply.body) == (503, "")
    await core.close()
    services.close()


async def test_a_slow_turn_answers_success_then_through_the_api(care, fake):
    rasa = StandInRasa()
    rasa.delay = 1.0
    core = make_core(care, fake, rasa, ANXIN_WECHAT_PASSIVE_S="0.2")
    reply = await core.receive(signed(), text_xml("oSlow", "订午饭", 1003).encode())
    assert (reply.status, reply.body) == (200, "success")
    assert await asyncio.to_thread(fake.wait_for_texts, "oSlow", 1, 10) == ["答:订午饭:0"]
    await core.close()


async def test_a_long_answer_goes_passively_in_part_and_the_rest_through_the_api(care, fake):
    rasa = StandInRasa()
    rasa.replies = 3
    core = make_core(care, fake, rasa)
    long_body = text_xml("oLong", "长" * 400, 1004).encode()  # each reply ~1.2 KB
    reply = await core.receive(signed(), long_body)
    assert content(reply.body).endswith(":0")
    rest = await asyncio.to_thread(fake.wait_for_texts, "oLong", 2, 10)
    assert [t[-2:] for t in rest] == [":1", ":2"]
    await core.close()


async def test_when_rasa_fails_the_message_is_held_and_answered_when_it_is_back(care, fake):
    rasa = StandInRasa()
    rasa.fail = True
    core = make_core(care, fake, rasa)
    reply = await core.receive(signed(), text_xml("oDown", "俺想订明天的午饭", 1005).encode())
    assert "稍后" in content(reply.body)  # told kindly, within the deadline
    [held] = care.channels.held("wechat")
    assert (held.sender_id, held.text) == ("oDown", "俺想订明天的午饭")

    assert await core.answer_held() == 0  # still down: kept
    rasa.fail = False
    assert await core.answer_held() == 1
    assert fake.texts_to("oDown") == ["答:俺想订明天的午饭:0"]
    assert rasa.turns == Counter({"msg:1005": 1})  # the MsgId stays the booking's key
    assert care.channels.held("wechat") == []
    await core.close()


async def test_silence_while_the_action_server_is_down_is_held(care, fake):
    rasa = StandInRasa()
    rasa.silent = True
    core = make_core(care, fake, rasa)
    up = False

    async def action_server() -> bool:
        return up

    core.assistant_up = action_server
    reply = await core.receive(signed(), text_xml("oQuiet", "取消午饭", 1006).encode())
    assert "稍后" in content(reply.body)
    up, rasa.silent = True, False
    assert await core.answer_held() == 1
    assert fake.texts_to("oQuiet") == ["答:取消午饭:0"]
    # Silence while the action server is up (a conversation staff took over) is just silence.
    rasa.silent = True
    reply = await core.receive(signed(), text_xml("oQuiet", "在吗", 1007).encode())
    assert reply.body == "success" and care.channels.held("wechat") == []
    await core.close()


async def test_events_menu_voice_and_other_messages(care, fake):
    rasa = StandInRasa()
    core = make_core(care, fake, rasa)
    welcome = await core.receive(signed(), event_xml("oNew", "subscribe", 1700000200).encode())
    assert "欢迎关注安心" in content(welcome.body) and "English" in content(welcome.body)
    bye = await core.receive(signed(), event_xml("oNew", "unsubscribe", 1700000201).encode())
    assert bye.body == "success"
    menu_click = event_xml("oNew", "CLICK", 1700000202, "BOOK_MEAL").encode()
    click = await core.receive(signed(), menu_click)
    assert content(click.body) == "答:/book_meal:0"
    assert rasa.turns["ev:oNew:1700000202"] == 1
    voice = text_xml("oNew", "", 1008).replace("<MsgType><![CDATA[text]]>", "<MsgType>voice")
    media = "<MediaId>m</MediaId><Format>amr</Format>"
    voice = voice.replace("<Content><![CDATA[]]></Content>", media)
    assert "打字" in content((await core.receive(signed(), voice.encode())).body)
    image = voice.replace("<MsgType>voice", "<MsgType>image").replace("1008", "1009")
    assert "文字" in content((await core.receive(signed(), image.encode())).body)
    assert list(rasa.turns) == ["ev:oNew:1700000202"]  # none of these reached Rasa
    await core.close()


async def test_a_voice_message_held_while_rasa_is_down_is_heard_and_spoken_to_later(
    care, fake, tmp_path
):
    """The real Whisper model and espeak-ng; only Rasa is the stand-in here."""
    rasa = StandInRasa()
    rasa.fail = True
    core = make_core(care, fake, rasa, ANXIN_WECHAT_PASSIVE_S="60")  # no race with the clock
    core.voice = WeChatVoice(core.api, shared_engines())
    said = tmp_path / "said.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(said),
                    "I would like to book lunch"], check=True)  # fmt: skip
    fake.media["media-held"] = encode(decode(said.read_bytes(), "wav"), "amr")
    voice = voice_xml("oV", "media-held", 1010)
    reply = await core.receive(signed(), voice.encode())
    assert "稍后" in content(reply.body)  # heard, but Rasa is down: held, told kindly
    assert [h.sender_id for h in care.channels.held("wechat")] == ["oV"]

    rasa.fail = False
    assert await core.answer_held() == 1  # heard again from the media, answered
    [answer] = fake.texts_to("oV")
    assert answer.startswith("答:") and "lunch" in answer.lower(), answer
    assert rasa.turns == Counter({"msg:1010": 1})
    [spoken] = fake.voices_to("oV")  # the person spoke: the answer is spoken back too
    assert decode(spoken.data, "amr").seconds > 0.5
    await core.close()


async def test_a_location_is_an_address_hint_now_or_once_the_person_is_known(care, fake):
    rasa = StandInRasa()
    core = make_core(care, fake, rasa)
    where = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>{who}</FromUserName>"
        "<CreateTime>1700000400</CreateTime><MsgType>location</MsgType>"
        "<Location_X>45.75</Location_X><Location_Y>126.63</Location_Y><Scale>15</Scale>"
        "<Label>南岗区花园小区</Label><MsgId>{id}</MsgId></xml>"
    )
    known = care.people.register_elder("wechat", "oKnown", "李秀兰")
    reply = await core.receive(signed(), where.format(who="oKnown", id=1011).encode())
    assert "南岗区花园小区" in content(reply.body)
    assert care.people.get(known.id).address == "[位置] 南岗区花园小区 (45.75,126.63)"

    await core.receive(signed(), where.format(who="oStranger", id=1012).encode())
    assert address_hints.address_of(care.db, "wechat", "oStranger") is None
    care.people.register_elder("wechat", "oStranger", "王大爷")  # their first booking
    await core.receive(signed(), text_xml("oStranger", "对", 1013).encode())
    assert address_hints.address_of(care.db, "wechat", "oStranger").startswith("[位置] 南岗区")
    await core.close()


async def test_the_outbox_is_claimed_sent_and_put_back_on_failure(care, fake):
    elder = care.people.register_elder("wechat", "oMum", "王秀英")
    with care.db.write() as s:  # what care.family queues when a son books for her
        told = "您的儿子 王强 替您订了明天的午饭。"
        s.add(
            m.Notification(
                person_id=elder.id, kind="booked_for", message=told, created_at=care.clock()
            )
        )
    core = make_core(care, fake, StandInRasa())
    fake.fail_sends = 1
    assert await core.deliver_outbox() == 0
    assert [o.message for o in care.channels.outbox("wechat")] == [
        "您的儿子 王强 替您订了明天的午饭。"
    ]
    assert await core.deliver_outbox() == 1
    assert fake.texts_to("oMum") == ["您的儿子 王强 替您订了明天的午饭。"]
    assert care.channels.outbox("wechat") == []
    await core.close()


async def test_safe_mode_answers_encrypted(care, fake):
    from wechatpy.crypto import WeChatCrypto

    from tests.channels.test_wechat_xml import _safe_body

    core = make_core(care, fake, StandInRasa(), safe=True)
    args = signed()
    body, args = _safe_body(text_xml("oSafe", "你好", 1014), args)
    reply = await core.receive(args, body)
    doc = xmltodict.parse(reply.body)["xml"]
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        reply.body, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]
    )
    assert content(plain) == "答:你好:0"
    await core.close()


# Fuzz: no body, signed or not, plaintext or safe mode, ever makes a 500 -----------------

_elements = st.sampled_from(
    ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
     "EventKey", "Recognition", "MediaId", "Location_X", "Label", "Encrypt", "xml", "a"]
)  # fmt: skip
_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["text", "event", "voice", "location", "subscribe", "CLICK", "BOOK_MEAL",
                     "1700000000", "-1", "1e9", "", "<![CDATA[x]]>", "&amp;", "&bogus;"]),
)  # fmt: skip
_xmlish = st.lists(st.tuples(_elements, _values), max_size=8).map(
    lambda pairs: "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in pairs) + "</xml>"
)
_bodies = st.one_of(st.binary(max_size=300), _xmlish.map(str.encode), st.text().map(str.encode))


@pytest.fixture(scope="module")
def fuzz_core(care) -> WeChatCore:
    rasa = StandInRasa()
    return make_core(care, None, rasa, safe=True)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies, signed_right=st.booleans(), aes=st.booleans())
def test_fuzz_any_body_gets_a_plain_answer_never_a_500(fuzz_core, body, signed_right, aes):
    args = signed() if signed_right else {**signed(), "signature": "bad"}
    if aes:
        args.update(encrypt_type="aes", msg_signature="x" * 40)
    reply = asyncio.run(fuzz_core.receive(args, body))
    assert reply.status in (200, 400, 403)
    if not signed_right:
        assert reply.status == 403
    assert "Traceback" not in reply.body


async def test_an_over_long_message_is_answered_kindly_without_a_turn(care, fake):
    from channels.limits import TOO_LONG

    rasa = StandInRasa()
    core = make_core(care, fake, rasa)
    story = "我想跟你说说我家里的事，孩子们都挺好的。" * 200  # 4,000 characters
    reply = await core.receive(signed(), text_xml("oLong", story, 9101).encode())
    assert reply.status == 200 and content(reply.body) == TOO_LONG["zh"]
    assert not rasa.turns  # the NLU never saw it
    retry = await core.receive(signed(), text_xml("oLong", story, 9101).encode())
    assert retry.status == 200 and content(retry.body) == TOO_LONG["zh"]  # a retry: same
    await core.close()


async def test_danger_words_in_an_over_long_message_go_on_to_the_dialogue(care, fake):
    heard: list[str] = []

    async def rasa(message: UserMessage) -> None:
        heard.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "请马上拨打120")

    core = make_core(care, fake, rasa)
    story = "我想跟你说说我家里的事，孩子们都挺好的。" * 200
    text = story + "我摔倒了起不来" + story
    reply = await core.receive(signed(), text_xml("oFall", text, 9102).encode())
    assert content(reply.body) == "请马上拨打120"
    [part] = heard
    assert "我摔倒了起不来" in part and len(part) == 2000  # the part around the words
    await core.close()


async def test_what_a_person_wrote_is_cleaned_before_the_dialogue_reads_it(care, fake):
    rasa = StandInRasa()
    core = make_core(care, fake, rasa)
    body = text_xml("oClean", " \u202e救\u200b命\x85 ", 9103).encode()
    reply = await core.receive(signed(), body)
    assert content(reply.body) == "答:救命:0"
    await core.close()
