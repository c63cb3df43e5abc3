"""Input classes for what one channel reads (pure): WeChat's XML attacks and safe-mode
envelopes, malformed audio behind a voice upload, a WeChat voice message or a Telegram
voice note, malformed Telegram updates, WebSocket handshakes and frames, AudioSocket
messages.
"""

from __future__ import annotations

import random
import uuid
from typing import Any, Optional

from anxin.bench import fuzz_audio
from anxin.bench.fuzz_requests import (
    DTMF_ODD,
    Built,
    Context,
    Opts,
    Route,
    bad_xml,
    base_fields,
    bearer,
    query_string,
    render,
    valid,
    wechat_xml,
)
from anxin.bench.fuzz_wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    HttpRequest,
    TcpRequest,
    WsRequest,
    as_message,
    dump_json,
    upgrade_headers,
    wechat_encrypt,
    wechat_signature,
    ws_frame,
    ws_key,
)

# -- WeChat ---------------------------------------------------------------------------


def c_xml_attack(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant, xml = rng.choice([
        ("billion-laughs", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
         + b"".join(b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9))
         + b"]><xml><Content>&j;</Content></xml>"),
        ("xxe-file", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
         b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
         b"<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>"),
        ("xxe-http", b'<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:1/x">]><xml>&e;</xml>'),
        ("external-dtd", b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd"><xml/>'),
        ("parameter-entity", b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><xml/>'),
        ("quadratic-blowup", b'<!DOCTYPE x [<!ENTITY a "' + b"a" * 50_000 + b'">]><xml><Content>'
         + b"&a;" * 2_000 + b"</Content></xml>"),
        ("xinclude", b'<xml xmlns:xi="http://www.w3.org/2001/XInclude">'
         b'<xi:include href="file:///etc/passwd"/></xml>'),
        ("many-attributes", b"<xml " + b" ".join(b"a%d='x'" % i for i in range(20_000)) + b"/>"),
    ])  # fmt: skip
    aes = rng.random() < 0.5
    fields = base_fields(route, ctx, rng)
    req = render(route, ctx, rng, fields, Opts(wechat_aes=aes))
    if aes:
        token, ts, nonce = ctx.wechat_token, str(ctx.now), f"n{rng.getrandbits(40)}"
        encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, ctx.wechat_app_id, rng)
        req.body = (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        req.target = (
            route.path
            + "?"
            + "&".join(
                [
                    f"signature={wechat_signature(token, ts, nonce)}",
                    f"timestamp={ts}",
                    f"nonce={nonce}",
                    "encrypt_type=aes",
                    f"msg_signature={wechat_signature(token, ts, nonce, encrypted)}",
                ]
            )
        )
        return Built(variant + " (encrypted)", req)
    req.body = xml
    return Built(variant, req)


def c_safe_mode_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    token, ts, nonce = ctx.wechat_token, str(ctx.now), f"n{rng.getrandbits(40)}"
    xml = wechat_xml(fields)
    variant = rng.choice(
        [
            "bad-msg-signature",
            "garbage-encrypt",
            "not-base64",
            "wrong-appid",
            "bad-padding",
            "length-lies",
            "length-huge",
            "short-cipher",
            "plaintext-as-aes",
            "inner-xml-malformed",
            "inner-xml-bomb",
            "no-encrypt-element",
            "unknown-encrypt-type",
            "empty-encrypt",
        ]
    )
    encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, ctx.wechat_app_id, rng)
    msg_sig: Optional[str] = None
    if variant == "garbage-encrypt":
        import base64

        encrypted = base64.b64encode(rng.randbytes(rng.choice([16, 32, 100, 4000]))).decode()
    elif variant == "not-base64":
        encrypted = "!!!not base64***"
    elif variant == "wrong-appid":
        encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, "wxNOTOURS0000000", rng)
    elif variant == "bad-padding":
        encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, ctx.wechat_app_id, rng,
                                   pad=rng.choice([0, 33, 255]))  # fmt: skip
    elif variant == "length-lies":
        encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, ctx.wechat_app_id, rng,
                                   declared=len(xml) + 500)  # fmt: skip
    elif variant == "length-huge":
        encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, ctx.wechat_app_id, rng,
                                   declared=0xFFFFFFFF)  # fmt: skip
    elif variant == "short-cipher":
        encrypted = encrypted[:8]
    elif variant == "inner-xml-malformed":
        encrypted = wechat_encrypt(bad_xml(rng)[1], ctx.wechat_aes_key, ctx.wechat_app_id, rng)
    elif variant == "inner-xml-bomb":
        bomb = (
            b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>'
        )
        encrypted = wechat_encrypt(bomb, ctx.wechat_aes_key, ctx.wechat_app_id, rng)
    elif variant == "empty-encrypt":
        encrypted = ""
    if variant == "bad-msg-signature":
        msg_sig = "0" * 40
    body = f"<xml><ToUserName><![CDATA[{ctx.wechat_account}]]></ToUserName>" \
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()  # fmt: skip
    encrypt_type = "aes"
    if variant == "plaintext-as-aes":
        body = xml
    elif variant == "no-encrypt-element":
        body = b"<xml><ToUserName>x</ToUserName></xml>"
    elif variant == "unknown-encrypt-type":
        encrypt_type = "rsa"
    query = [
        f"signature={wechat_signature(token, ts, nonce)}",
        f"timestamp={ts}",
        f"nonce={nonce}",
        f"encrypt_type={encrypt_type}",
        "msg_signature=" + (msg_sig or wechat_signature(token, ts, nonce, encrypted)),
    ]
    req = HttpRequest("POST", route.path + "?" + "&".join(query),
                      [("Content-Type", b"text/xml")], body)  # fmt: skip
    req.refuse = variant in ("bad-msg-signature", "wrong-appid")
    return Built(variant, req)


def _audio_name(ctx: Context, rng: random.Random) -> str:
    names = sorted(ctx.audio) or sorted(fuzz_audio.VECTORS)
    costly = [n for n in names if n in fuzz_audio.COSTLY]
    cheap = [n for n in names if n not in fuzz_audio.COSTLY]
    return rng.choice(costly) if costly and rng.random() < 0.05 else rng.choice(cheap)


def c_voice_audio(route: Route, ctx: Context, rng: random.Random) -> Built:
    name = _audio_name(ctx, rng)
    if route.kind == "wechat-post":
        fields = base_fields(route, ctx, rng)
        del fields["xml:Content"]
        fields.update(
            {
                "xml:MsgType": "voice",
                "xml:MediaId": f"fuzz-{name}",
                "xml:Format": rng.choice(["amr", "speex", "wav", "", "../x"]),
            }
        )
        return Built(name, render(route, ctx, rng, fields, Opts(wechat_aes=rng.random() < 0.5)))
    if route.kind == "telegram-post":
        fields = base_fields(route, ctx, rng)
        del fields["upd:message.text"]
        size = len(ctx.audio.get(name, b""))
        fields.update({"upd:message.voice.file_id": f"fuzz-{name}",
                       "upd:message.voice.file_unique_id": f"u-{name}",
                       "upd:message.voice.duration": rng.choice([1, 0, -1, 2**31]),
                       "upd:message.voice.mime_type": rng.choice(["audio/ogg", "audio/wav"]),
                       "upd:message.voice.file_size": size})  # fmt: skip
        return Built(name, render(route, ctx, rng, fields))
    data = ctx.audio.get(name)
    if data is None:
        data = fuzz_audio.vector(name, random.Random(0))
    content_type = rng.choice(["audio/wav", "audio/wav", "audio/ogg", "audio/mpeg", "audio/amr",
                               "audio/pcm", "audio/x-wav; codecs=1"])  # fmt: skip
    return Built(f"{name} as {content_type}",
                 valid(route, ctx, rng, body=data, content_type=content_type))  # fmt: skip


# -- Telegram -------------------------------------------------------------------------


def c_update_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    variant = rng.choice([
        "no-update-id", "no-message", "edited-message", "channel-post", "callback-garbage",
        "unknown-type", "entities-out-of-range", "group-chat", "bot-sender", "text-and-voice",
        "huge-chat-id", "negative-chat-id", "sticker", "document-huge", "reply-chain",
        "my-chat-member", "inline-query", "empty-text", "command-garbage",
    ])  # fmt: skip
    chat = fields["upd:message.chat.id"]
    if variant == "no-update-id":
        del fields["upd:update_id"]
    elif variant == "no-message":
        fields = {"upd:update_id": fields["upd:update_id"]}
    elif variant in ("edited-message", "channel-post"):
        fields = {k.replace("upd:message.", f"upd:{variant.replace('-', '_')}."): v
                  for k, v in fields.items()}  # fmt: skip
    elif variant == "callback-garbage":
        fields = {
            "upd:update_id": fields["upd:update_id"],
            "upd:callback_query.id": str(rng.getrandbits(32)),
            "upd:callback_query.from.id": chat,
            "upd:callback_query.from.is_bot": False,
            "upd:callback_query.from.first_name": "Fuzz",
            "upd:callback_query.chat_instance": "x",
            "upd:callback_query.data": rng.choice(
                ["", "x" * 5000, "/book_meal{", "\x00", "choose:99999999999999999999"]
            ),
        }
    elif variant == "unknown-type":
        fields = {"upd:update_id": fields["upd:update_id"], "upd:fuzz_update.x": 1}
    elif variant == "entities-out-of-range":
        fields["upd:message.text"] = "/start"
        fields["upd:message.entities"] = [{"type": "bot_command", "offset": 10**9,
                                           "length": -5}]  # fmt: skip
    elif variant == "group-chat":
        fields["upd:message.chat.type"] = "supergroup"
        fields["upd:message.chat.id"] = -100 * chat
    elif variant == "bot-sender":
        fields["upd:message.from.is_bot"] = True
    elif variant == "text-and-voice":
        fields["upd:message.voice.file_id"] = "fuzz-wav-valid-silence"
        fields["upd:message.voice.file_unique_id"] = "u"
        fields["upd:message.voice.duration"] = 1
    elif variant == "huge-chat-id":
        fields["upd:message.chat.id"] = fields["upd:message.from.id"] = 2**63
    elif variant == "negative-chat-id":
        fields["upd:message.chat.id"] = -1
    elif variant == "sticker":
        del fields["upd:message.text"]
        fields["upd:message.sticker.file_id"] = "x"
    elif variant == "document-huge":
        del fields["upd:message.text"]
        fields.update({"upd:message.document.file_id": "fuzz-over-10mb",
                       "upd:message.document.file_unique_id": "u",
                       "upd:message.document.file_size": 2**40})  # fmt: skip
    elif variant == "reply-chain":
        node: dict[str, Any] = {"message_id": 1, "date": ctx.now, "chat": {"id": chat,
                                "type": "private"}, "text": "x"}  # fmt: skip
        for i in range(200):
            node = {"message_id": i + 2, "date": ctx.now, "chat": {"id": chat, "type": "private"},
                    "reply_to_message": node}  # fmt: skip
        fields["upd:message.reply_to_message"] = node
    elif variant == "my-chat-member":
        fields = {"upd:update_id": fields["upd:update_id"], "upd:my_chat_member.chat.id": chat,
                  "upd:my_chat_member.date": "soon"}  # fmt: skip
    elif variant == "inline-query":
        fields = {"upd:update_id": fields["upd:update_id"], "upd:inline_query.id": "1",
                  "upd:inline_query.query": "x" * 10_000}  # fmt: skip
    elif variant == "empty-text":
        fields["upd:message.text"] = ""
    else:
        fields["upd:message.text"] = rng.choice(
            ["/start " + "x" * 5000, "/\x00", "/" * 3000, "/start@other_bot", '/book_meal{"x":']
        )
    return Built(variant, render(route, ctx, rng, fields))


# -- voice over a WebSocket -----------------------------------------------------------


def _ws(route: Route, ctx: Context, rng: random.Random, frames: list[bytes], finish: str,
        keeps: bool, fields: Optional[dict[str, Any]] = None, headers: Optional[list[tuple[
            str, bytes]]] = None, listen_s: float = 1.0) -> WsRequest:  # fmt: skip
    fields = fields if fields is not None else base_fields(route, ctx, rng)
    if headers is None:
        headers = upgrade_headers(ws_key(rng)) + bearer(ctx.rest_token, "valid")
    return WsRequest(route.path + query_string(fields), headers, frames, finish, keeps, listen_s)


def c_ws_handshake(route: Route, ctx: Context, rng: random.Random) -> Built:
    key = ws_key(rng)
    good = upgrade_headers(key) + bearer(ctx.rest_token, "valid")
    variant = rng.choice(
        [
            "no-upgrade",
            "version-8",
            "no-key",
            "short-key",
            "no-sender",
            "bad-sender",
            "long-sender",
            "language-odd",
            "subprotocol-odd",
            "extension-odd",
            "origin-odd",
            "two-keys",
            "connection-keep-alive",
        ]
    )
    fields = base_fields(route, ctx, rng)
    headers = [h for h in good]
    if variant == "no-upgrade":
        headers = [h for h in headers if h[0] != "Upgrade"]
    elif variant == "version-8":
        headers = [(n, b"8" if n == "Sec-WebSocket-Version" else v) for n, v in headers]
    elif variant == "no-key":
        headers = [h for h in headers if h[0] != "Sec-WebSocket-Key"]
    elif variant == "short-key":
        headers = [(n, b"c2hvcnQ=" if n == "Sec-WebSocket-Key" else v) for n, v in headers]
    elif variant == "no-sender":
        del fields["query:sender"]
    elif variant == "bad-sender":
        fields["query:sender"] = rng.choice(["../x", "a b", "\x00", "☃", "", "x" * 65])
    elif variant == "long-sender":
        fields["query:sender"] = "s" * 100_000
    elif variant == "language-odd":
        fields["query:language"] = rng.choice(["xx", "", "zh" * 1000, ["zh", "en"]])
    elif variant == "subprotocol-odd":
        headers.append(("Sec-WebSocket-Protocol", b"x" * 5000))
    elif variant == "extension-odd":
        headers.append(("Sec-WebSocket-Extensions", b"permessage-deflate; x=" + b"9" * 99))
    elif variant == "origin-odd":
        headers.append(("Origin", b"http://evil.example"))
    elif variant == "two-keys":
        headers.append(("Sec-WebSocket-Key", ws_key(rng).encode()))
    else:
        headers = [(n, b"keep-alive" if n == "Connection" else v) for n, v in headers]
    req = _ws(route, ctx, rng, [ws_frame(TEXT, b'{"hangup": true}', rng)], "close", False,
              fields, headers)  # fmt: skip
    return Built(variant, req)


def c_ws_bad_frames(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice([
        "unmasked", "reserved-bits", "opcode-3", "opcode-0xb", "continuation-first",
        "fragmented-ping", "ping-too-long", "close-bad-code", "close-1-byte", "close-bad-utf8",
        "text-not-utf8", "length-2^63", "length-lies-long", "huge-frame", "never-finished",
        "text-interleaved", "pong-unsolicited",
    ])  # fmt: skip
    r = rng
    frame = {
        "unmasked": lambda: ws_frame(BINARY, bytes(640), r, masked=False),
        "reserved-bits": lambda: ws_frame(BINARY, bytes(640), r, rsv=7),
        "opcode-3": lambda: ws_frame(0x3, b"x", r),
        "opcode-0xb": lambda: ws_frame(0xB, b"x", r),
        "continuation-first": lambda: ws_frame(CONTINUATION, b"x", r),
        "fragmented-ping": lambda: ws_frame(PING, b"x", r, fin=False),
        "ping-too-long": lambda: ws_frame(PING, b"p" * 200, r),
        "close-bad-code": lambda: ws_frame(CLOSE, b"\x03\xe7", r),  # 999
        "close-1-byte": lambda: ws_frame(CLOSE, b"\x03", r),
        "close-bad-utf8": lambda: ws_frame(CLOSE, b"\x03\xe8\xff\xfe", r),
        "text-not-utf8": lambda: ws_frame(TEXT, b"\xff\xfe\xed\xa0\x80", r),
        "length-2^63": lambda: ws_frame(BINARY, b"x" * 10, r, length=2**63),
        "length-lies-long": lambda: ws_frame(BINARY, b"x" * 10, r, length=5000),
        "huge-frame": lambda: ws_frame(BINARY, bytes(rng.choice([2, 17]) * 1024 * 1024), r),
        "never-finished": lambda: ws_frame(TEXT, b'{"dt', r, fin=False),
        "text-interleaved": lambda: ws_frame(TEXT, b"a", r, fin=False) + ws_frame(TEXT, b"b", r),
        "pong-unsolicited": lambda: ws_frame(PONG, b"x" * 100, r),
    }[variant]()
    keeps = variant in ("pong-unsolicited",)
    return Built(variant, _ws(route, ctx, rng, [frame], "silent", keeps, listen_s=1.5))


def c_ws_garbage(route: Route, ctx: Context, rng: random.Random) -> Built:
    """Frames the protocol allows but the call cannot use: the call must go on."""
    variant = rng.choice(["binary-odd-length", "binary-1-byte", "binary-noise", "text-not-json",
                          "json-list", "json-deep", "dtmf-odd", "dtmf-huge", "hangup-odd",
                          "empty-frames", "json-surrogate", "big-text"])  # fmt: skip
    r = rng
    frames = {
        "binary-odd-length": lambda: [ws_frame(BINARY, bytes(641), r)],
        "binary-1-byte": lambda: [ws_frame(BINARY, b"\x01", r) for _ in range(50)],
        # A short burst, no quiet after it: never a finished turn, so nothing to transcribe.
        "binary-noise": lambda: [ws_frame(BINARY, rng.randbytes(640), r) for _ in range(5)],
        "text-not-json": lambda: [ws_frame(TEXT, b"hello {", r)],
        "json-list": lambda: [ws_frame(TEXT, b"[1, 2, 3]", r)],
        "json-deep": lambda: [ws_frame(TEXT, b"[" * 50_000, r)],
        "dtmf-odd": lambda: [ws_frame(TEXT, dump_json({"dtmf": v}).encode(), r) for v in DTMF_ODD],
        "dtmf-huge": lambda: [ws_frame(TEXT, dump_json({"dtmf": "9" * 100_000}).encode(), r)],
        "hangup-odd": lambda: [
            ws_frame(TEXT, dump_json({"hangup": v}).encode(), r) for v in ["no", 0, [], None]
        ],
        "empty-frames": lambda: [ws_frame(BINARY, b"", r), ws_frame(TEXT, b"", r)],
        "json-surrogate": lambda: [ws_frame(TEXT, b'{"dtmf": "\\ud800"}', r)],
        "big-text": lambda: [ws_frame(TEXT, b"{" + b" " * 500_000 + b"}", r)],
    }[variant]()
    # {"hangup": "no"} is a truthy hang-up: the server may take it at its word
    keeps = variant not in ("json-deep", "big-text", "dtmf-huge", "hangup-odd")
    return Built(variant, _ws(route, ctx, rng, frames, rng.choice(["close", "abort"]), keeps))


def c_ws_abrupt(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice(["after-handshake", "mid-frame", "during-greeting", "half-header"])
    if variant == "mid-frame":
        frame = ws_frame(BINARY, bytes(640), rng)
        return Built(variant, _ws(route, ctx, rng, [frame[: len(frame) // 2]], "abort", False))
    if variant == "half-header":
        return Built(variant, _ws(route, ctx, rng, [b"\x82"], "abort", False))
    listen = 0.05 if variant == "after-handshake" else 0.6
    return Built(variant, _ws(route, ctx, rng, [], "abort", False, listen_s=listen))


# -- AudioSocket ----------------------------------------------------------------------

AS_UUID, AS_AUDIO, AS_DTMF, AS_HANGUP = 0x01, 0x10, 0x03, 0x00


def _uuid(rng: random.Random) -> bytes:
    return as_message(AS_UUID, uuid.UUID(int=rng.getrandbits(128)).bytes)


def _quiet_frames(n: int) -> list[bytes]:
    return [as_message(AS_AUDIO, bytes(320)) for _ in range(n)]


def c_as_bad_kind(route: Route, ctx: Context, rng: random.Random) -> Built:
    kind = rng.choice([0x02, 0x04, 0x0F, 0x19, 0x20, 0x7F, 0x80, 0xFE, 0xFF])
    payload = rng.randbytes(rng.choice([0, 1, 16, 320]))
    # Unknown kinds are skipped (a protocol extension never ends a call); 0xff is an error.
    return Built(f"kind 0x{kind:02x}", TcpRequest(
        [_uuid(rng), as_message(kind, payload)] + _quiet_frames(5),
        rng.choice(["abort", "half-close"]), keeps=kind != 0xFF))  # fmt: skip


def c_as_bad_length(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice(["uuid-0-bytes", "uuid-15-bytes", "uuid-17-bytes", "dtmf-0-bytes",
                          "dtmf-long", "audio-1-byte", "audio-odd", "audio-65535",
                          "length-lies-long", "uuid-not-a-uuid"])  # fmt: skip
    first = {
        "uuid-0-bytes": lambda: [as_message(AS_UUID, b"")],
        "uuid-15-bytes": lambda: [as_message(AS_UUID, rng.randbytes(15))],
        "uuid-17-bytes": lambda: [as_message(AS_UUID, rng.randbytes(17))],
        "dtmf-0-bytes": lambda: [_uuid(rng), as_message(AS_DTMF, b"")],
        "dtmf-long": lambda: [_uuid(rng), as_message(AS_DTMF, b"1" * 300)],
        "audio-1-byte": lambda: [_uuid(rng), as_message(AS_AUDIO, b"\x01")],
        "audio-odd": lambda: [_uuid(rng), as_message(AS_AUDIO, bytes(321))],
        "audio-65535": lambda: [_uuid(rng), as_message(AS_AUDIO, bytes(65535))],
        "length-lies-long": lambda: [_uuid(rng), as_message(AS_AUDIO, bytes(20), length=40000)],
        "uuid-not-a-uuid": lambda: [as_message(AS_UUID, b"\xff" * 16)],
    }[variant]()
    return Built(variant, TcpRequest(first + _quiet_frames(3), "abort"))


def c_as_truncated(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice(["1-byte", "2-bytes", "header-only", "half-uuid", "half-audio"])
    chunk = {
        "1-byte": lambda: [b"\x01"],
        "2-bytes": lambda: [b"\x01\x00"],
        "header-only": lambda: [_uuid(rng), b"\x10\x01\x40"],
        "half-uuid": lambda: [_uuid(rng)[:9]],
        "half-audio": lambda: [_uuid(rng), as_message(AS_AUDIO, bytes(320))[:100]],
    }[variant]()
    return Built(variant, TcpRequest(chunk, rng.choice(["abort", "half-close", "wait"]),
                                     listen_s=1.0))  # fmt: skip


def c_as_order(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice(["audio-first", "dtmf-first", "hangup-first", "two-uuids",
                          "error-first", "uuid-after-hangup"])  # fmt: skip
    chunks = {
        "audio-first": lambda: _quiet_frames(3),
        "dtmf-first": lambda: [as_message(AS_DTMF, b"1")],
        "hangup-first": lambda: [as_message(AS_HANGUP)],
        "two-uuids": lambda: [_uuid(rng), _uuid(rng)] + _quiet_frames(3),
        "error-first": lambda: [as_message(0xFF, b"\x01")],
        "uuid-after-hangup": lambda: [_uuid(rng), as_message(AS_HANGUP), _uuid(rng)],
    }[variant]()
    return Built(variant, TcpRequest(chunks, "abort"))


def c_as_garbage(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant, data = rng.choice([
        ("random-bytes", rng.randbytes(rng.randrange(1, 5000))),
        ("http-request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(64)),
        ("zeros", bytes(5000)),
        ("uuid-then-noise", _uuid(rng) + rng.randbytes(3000)),
    ])  # fmt: skip
    return Built(variant, TcpRequest([data], "abort"))


def c_as_abrupt(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice(["connect-only", "after-uuid", "mid-call", "during-greeting"])
    chunks = {
        "connect-only": lambda: [],
        "after-uuid": lambda: [_uuid(rng)],
        "mid-call": lambda: [_uuid(rng)] + _quiet_frames(10),
        "during-greeting": lambda: [_uuid(rng)] + _quiet_frames(30),
    }[variant]()
    listen = {"connect-only": 0.05, "after-uuid": 0.1}.get(variant, 0.8)
    return Built(variant, TcpRequest(chunks, "abort", listen_s=listen))


def c_as_dtmf_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    key = rng.choice([b"\x00", b"x", b"\xff", b"11", b"*#", b"\x7f", b"A", b"9"])
    return Built(f"key {key!r}", TcpRequest(
        [_uuid(rng), as_message(AS_DTMF, key)] + _quiet_frames(5),
        "abort", keeps=len(key) == 1))  # fmt: skip


def c_as_rates(route: Route, ctx: Context, rng: random.Random) -> Built:
    """Audio kinds at other rates (0x11-0x18), empty audio: allowed, the call goes on."""
    kind = rng.choice(list(range(0x11, 0x19)))
    size = rng.choice([0, 2, 320, 7680, 65534])
    return Built(
        f"kind 0x{kind:02x}, {size} bytes",
        TcpRequest(
            [_uuid(rng), as_message(kind, bytes(size))] + _quiet_frames(5), "abort", keeps=True
        ),
    )
