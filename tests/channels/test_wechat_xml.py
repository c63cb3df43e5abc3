"""Fixed vectors: WeChat's XML verified, decrypted, parsed, mapped and rendered."""

from __future__ import annotations

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from channels.wechat_xml import (
    Rejected,
    decode,
    pack,
    parse,
    passive_reply,
    render_messages,
    split_text,
    verify_get,
)
from tests.channels.wechat_fakes import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    TOKEN,
    event_xml,
    signed,
    text_xml,
)

# A signature computed by hand: sha1 of the sorted token, timestamp and nonce.
VECTOR = {"signature": "", "timestamp": "1700000000", "nonce": "abc"}


def test_signature_matches_wechats_algorithm():
    import hashlib

    expected = hashlib.sha1("".join(sorted([TOKEN, "1700000000", "abc"])).encode()).hexdigest()
    assert signed(timestamp="1700000000", nonce="abc")["signature"] == expected
    args = {**VECTOR, "signature": expected, "echostr": "echo-7"}
    assert verify_get(TOKEN, args, now=1_700_000_000) == "echo-7"


@pytest.mark.parametrize("age_s", [0, 300, -300, 60])
def test_a_signature_is_good_for_five_minutes_either_way(age_s):
    args = signed(timestamp="1700000000", nonce="abc")
    body = text_xml("o1", "你好", 1).encode()
    xml, _ = decode(TOKEN, args, body, None, now=1_700_000_000 + age_s)
    assert parse(xml).openid == "o1"


@pytest.mark.parametrize("age_s", [301, -301, 10**9])
def test_an_old_or_future_signature_is_403(age_s):
    # Signed right, but over a timestamp outside the window: a logged URL replayed.
    args = signed(timestamp="1700000000", nonce="abc")
    for check in (
        lambda: decode(TOKEN, args, text_xml("o1", "你好", 1).encode(), None,
                       now=1_700_000_000 + age_s),
        lambda: verify_get(TOKEN, {**args, "echostr": "e"}, now=1_700_000_000 + age_s),
    ):  # fmt: skip
        with pytest.raises(Rejected) as err:
            check()
        assert err.value.status == 403 and "window" in err.value.reason


def test_a_signature_over_a_2001_timestamp_is_refused_now():
    with pytest.raises(Rejected) as err:
        decode(TOKEN, signed(timestamp="1000000000"), text_xml("o1", "你好", 1).encode(), None)
    assert err.value.status == 403


@pytest.mark.parametrize(
    "args",
    [
        {**signed(), "signature": "0" * 40},
        {**signed(), "nonce": "other"},
        {"timestamp": "1", "nonce": "x"},
        {**signed(timestamp="17e8"), "timestamp": "17e8"},
        signed(nonce="n" * 65),
        {},
    ],
)
def test_a_bad_or_missing_signature_is_403(args):
    with pytest.raises(Rejected) as err:
        decode(TOKEN, args, text_xml("o1", "你好", 1).encode(), None)
    assert err.value.status == 403


def test_plaintext_text_message():
    xml, encrypted = decode(
        TOKEN, signed(), text_xml("oELDER", "俺想订明天的午饭", 42).encode(), None
    )
    assert not encrypted
    m = parse(xml)
    assert (m.kind, m.openid, m.account, m.key, m.text) == (
        "text",
        "oELDER",
        ACCOUNT,
        "msg:42",
        "俺想订明天的午饭",
    )


def _safe_body(xml: str, args: dict, app_id: str = APP_ID) -> tuple[bytes, dict]:
    envelope = WeChatCrypto(TOKEN, AES_KEY, app_id).encrypt_message(
        xml, args["nonce"], args["timestamp"]
    )
    doc = xmltodict.parse(envelope)["xml"]
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{doc['Encrypt']}</Encrypt></xml>"
    return body.encode(), {**args, "encrypt_type": "aes", "msg_signature": doc["MsgSignature"]}


def test_safe_mode_decrypts_and_checks_the_appid():
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    body, args = _safe_body(text_xml("oSAFE", "你好", 7), signed())
    xml, encrypted = decode(TOKEN, args, body, crypto)
    assert encrypted and parse(xml).text == "你好"

    other_app, args2 = _safe_body(text_xml("oSAFE", "你好", 8), signed(), app_id="wxOTHER")
    with pytest.raises(Rejected) as err:
        decode(TOKEN, args2, other_app, crypto)
    assert err.value.status == 403  # right key, another account's message

    with pytest.raises(Rejected) as err:
        decode(TOKEN, {**args, "msg_signature": "f" * 40}, body, crypto)
    assert err.value.status == 403

    with pytest.raises(Rejected) as err:  # safe mode message but no EncodingAESKey here
        decode(TOKEN, args, body, None)
    assert err.value.status == 403


def test_safe_mode_reply_decrypts_on_wechats_side():
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    m = parse(text_xml("oSAFE", "你好", 9))
    reply = crypto.encrypt_message(passive_reply(m, "您好！"), "n1", "1700000000")
    doc = xmltodict.parse(reply)["xml"]
    plain = crypto.decrypt_message(reply, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
    back = xmltodict.parse(plain)["xml"]
    assert (back["ToUserName"], back["FromUserName"], back["Content"]) == (
        "oSAFE",
        ACCOUNT,
        "您好！",
    )
    assert back["MsgType"] == "text"


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"<xml><a>", b"<other/>", b"\xff\xfe", b"<xml>text</xml>",
     text_xml("o", "x", 1).replace("<MsgId>1</MsgId>", "").encode(),
     text_xml("o", "x", 1).replace("1700000000", "soon").encode(),
     b"<xml><FromUserName><a>1</a></FromUserName><ToUserName>x</ToUserName>"
     b"<MsgType>text</MsgType><CreateTime>1</CreateTime><MsgId>1</MsgId></xml>"],
)  # fmt: skip
def test_malformed_bodies_are_400(body):
    with pytest.raises(Rejected) as err:
        xml, _ = decode(TOKEN, signed(), body, None)
        parse(xml)
    assert err.value.status == 400


def _msg(msg_type: str, inner: str, msg_id: int = 5) -> str:
    return (
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>oU</FromUserName>"
        f"<CreateTime>1700000001</CreateTime><MsgType>{msg_type}</MsgType>{inner}"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def test_voice_uses_recognition_when_present():
    heard = parse(_msg("voice", "<MediaId>m1</MediaId><Format>amr</Format>"
                                "<Recognition>俺想订午饭</Recognition>"))  # fmt: skip
    assert (heard.kind, heard.text, heard.media_id) == ("text", "俺想订午饭", "m1")
    unheard = parse(_msg("voice", "<MediaId>m2</MediaId><Format>speex</Format><Recognition/>"))
    assert (unheard.kind, unheard.media_id, unheard.extra) == ("voice", "m2", {"format": "speex"})


def test_location_image_link_and_events():
    where = parse(_msg("location", "<Location_X>45.75</Location_X><Location_Y>126.63</Location_Y>"
                                   "<Scale>15</Scale><Label>南岗区花园小区</Label>"))  # fmt: skip
    assert where.kind == "location" and where.extra == {
        "label": "南岗区花园小区",
        "latitude": "45.75",
        "longitude": "126.63",
    }
    assert parse(_msg("image", "<PicUrl>http://x</PicUrl><MediaId>i</MediaId>")).kind == "other"
    assert parse(_msg("link", "<Title>t</Title><Url>http://x</Url>")).kind == "other"
    assert parse(_msg("file", "<Title>t</Title>")).kind == "other"

    sub = parse(event_xml("oNEW", "subscribe", 1700000100))
    assert (sub.kind, sub.key) == ("subscribe", "ev:oNEW:1700000100")
    assert parse(event_xml("oNEW", "unsubscribe", 1700000101)).kind == "unsubscribe"
    clicks = {
        key: parse(event_xml("oNEW", "CLICK", 1700000102, key)).text
        for key in ("BOOK_MEAL", "BOOK_DAY_CARE", "BOOK_CLINIC", "COMPANION_CALL", "MY_BOOKINGS")
    }
    assert clicks == {
        "BOOK_MEAL": "/book_meal",
        "BOOK_DAY_CARE": "/book_day_care",
        "BOOK_CLINIC": "/book_clinic",
        "COMPANION_CALL": "/book_companion_call",
        "MY_BOOKINGS": "/list_bookings",
    }
    assert parse(event_xml("oNEW", "CLICK", 1700000103, "UNKNOWN")).kind == "other"
    # An event with nested elements we do not use is still WeChat's, not malformed.
    scan = event_xml("oNEW", "scancode_push", 1700000104, "K").replace(
        "</xml>", "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>"
    )
    assert parse(scan).kind == "other"


def test_buttons_become_numbered_choices():
    messages = [
        {"text": "您来食堂吃，还是给您送到家？", "buttons": [
            {"title": "在食堂吃", "payload": '/inform{"dining":"dine_in"}'},
            {"title": "送到家", "payload": '/inform{"dining":"delivery"}'}]},
        {"text": "选一个：", "buttons": [
            {"title": "1. 09:00 内科 王大夫（主任医师）", "payload": "/inform"},
            {"title": "2. 09:30 内科 王大夫（主任医师）", "payload": "/inform"},
            {"title": "3. 10:00 中医科 李大夫（副主任医师）", "payload": "/inform"}]},
    ]  # fmt: skip
    assert render_messages(messages) == [
        "您来食堂吃，还是给您送到家？\n1. 在食堂吃  2. 送到家",
        "选一个：\n1. 09:00 内科 王大夫（主任医师）\n2. 09:30 内科 王大夫（主任医师）\n"
        "3. 10:00 中医科 李大夫（副主任医师）",
    ]


def test_long_replies_split_to_the_byte_limit_and_short_ones_are_joined():
    long = "。".join(["今天中午吃红烧肉炖土豆和小米粥"] * 200)
    pieces = split_text(long)
    assert len(pieces) > 1 and "".join(pieces) == long
    assert all(len(p.encode("utf-8")) <= 2048 for p in pieces)
    assert all(p.endswith("。") for p in pieces[:-1])  # cut after a full stop, not mid-word
    assert pack(["好的。", "还有别的吗？"]) == ["好的。\n\n还有别的吗？"]
    assert len(pack(["好" * 500, "的" * 500])) == 2  # 1500 + 1500 bytes do not fit in one
    assert split_text("x" * 5000, 2048) == ["x" * 2048, "x" * 2048, "x" * 904]


def test_a_reply_cannot_break_out_of_cdata():
    m = parse(text_xml("oU", "hi", 11))
    xml = passive_reply(m, "a]]><MsgType>image</MsgType>\x00b")
    back = xmltodict.parse(xml)["xml"]
    assert back["MsgType"] == "text" and back["Content"] == "a]] ><MsgType>image</MsgType>b"
