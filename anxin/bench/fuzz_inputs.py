"""Hostile inputs for every route, deterministic from a seed (pure: no sockets, no clock).

``plan(routes, requests, seed)`` spreads the requests evenly over route groups (REST,
Rasa's HTTP API, WeChat, Telegram, voice HTTP, voice WebSocket, AudioSocket, staff pages,
staff API), then over input classes within a group, then over the group's routes; each
``Probe`` carries its own seed. ``build(probe, route, context)`` turns a probe into the
bytes to send: a valid request for the route (signed for WeChat, with the secret for
Telegram, the session and CSRF token for the staff console, the tokens when the stack
has them) with one thing wrong — the input class — so the bad part reaches the code
behind the door, not only the door. The ``auth-odd`` class is the door itself: those
requests must be refused, and a 2xx to one of them is reported as *accepted*.

Routes come from the running apps (fuzz_routes.py), so a new route is fuzzed with the
generic classes at once; the route kinds below add what each known route reads.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import quote

from anxin.bench import fuzz_audio
from anxin.bench.fuzz_wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    NONE,
    OPTIONAL,
    PING,
    PONG,
    TEXT,
    HttpRequest,
    RawJson,
    Request,
    TcpRequest,
    WsRequest,
    as_message,
    dump_json,
    upgrade_headers,
    utf8,
    wechat_encrypt,
    wechat_signature,
    ws_frame,
    ws_key,
)

# Route groups, in the report's order.
GROUPS = (
    "rest",
    "rasa-api",
    "wechat",
    "telegram",
    "voice-http",
    "voice-ws",
    "audiosocket",
    "staff-pages",
    "staff-api",
)


@dataclass(frozen=True)
class Route:
    group: str
    method: str
    path: str  # parameters as {name}
    kind: str  # what the route reads: see RENDER
    params: tuple[tuple[str, str], ...] = ()  # (name, "int" | "str")
    query: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # form or JSON body fields
    danger: bool = False  # never sent with a valid token (it would unload or train a model)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


AUDIOSOCKET_ROUTE = Route("audiosocket", "TCP", "audiosocket", "audiosocket")


@dataclass
class Context:
    """What a valid request carries: the stack's secrets and the staff's credentials."""

    now: int  # Unix time, for WeChat timestamps and Telegram dates
    rest_token: Optional[str] = None  # ANXIN_REST_TOKEN: Authorization: Bearer on REST/voice
    rasa_token: Optional[str] = None  # ?token= on Rasa's HTTP API
    wechat_token: str = "fuzz-wechat-token"
    wechat_app_id: str = "wx00fuzz00anxin00"
    wechat_aes_key: str = "AnxinFuzzAesKey0123456789abcdefghijklmnopqr"
    wechat_account: str = "gh_anxin_fuzz"
    wechat_replay: tuple[str, str] = ("0", "used-nonce")  # (timestamp, nonce) used once
    telegram_secret: str = "fuzz-telegram-secret"
    audiosocket_secret: str = "fuzz-audiosocket-secret"
    # role → (session cookie, its CSRF token); "expired": a session that has ended
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    staff_token: str = "anx_fuzz"  # an admin API token
    audio: dict[str, bytes] = field(default_factory=dict)  # vector → bytes (in the fakes)


@dataclass(frozen=True)
class Probe:
    index: int
    group: str
    route: str  # Route.key
    klass: str
    seed: int


@dataclass
class Built:
    variant: str
    request: Request


# -- what each kind of route reads -----------------------------------------------------

SESSION_COOKIE = "anxin_staff"
LOGIN_CSRF_COOKIE = "anxin_login_csrf"
INT_BASE = "999999"  # an id that names nothing: a form post never changes real data


def _staff_value(name: str) -> str:
    return {
        "date": "2030-01-07", "day": "2030-01-07", "start": "2030-01-01", "end": "2030-01-31",
        "slot_id": INT_BASE, "reason": "fuzz", "note": "fuzz", "to": "fuzz-nobody",
        "name": "fuzz", "role": "staff", "active": "1", "text": "hello", "service": "meal",
        "page": "1", "q": "hello", "username": "fuzz-nobody", "password": "not-the-password",
        "next": "/", "status": "confirmed", "elder_id": INT_BASE, "language": "en",
    }.get(name, "1")  # fmt: skip


def _rasa_json(path: str) -> dict[str, Any]:
    if path.endswith("/model/parse"):
        return {"text": "hello", "message_id": "fuzz"}
    if path.endswith("/messages"):
        return {"text": "hello", "sender": "user"}
    if path.endswith("/execute"):
        return {"name": "action_listen"}
    if path.endswith("/trigger_intent"):
        return {"name": "greet", "entities": {}}
    if path.endswith("/tracker/events"):
        return {"event": "slot", "name": "language", "value": "en"}
    return {"text": "hello"}


def base_fields(route: Route, ctx: Context, rng: random.Random) -> dict[str, Any]:
    """The route's fields as a valid request has them, keyed ``carrier:name``."""
    fields: dict[str, Any] = {}
    for name, kind in route.params:
        fields[f"path:{name}"] = INT_BASE if kind == "int" else f"fuzz-{name}"
    k = route.kind
    sender = f"fuzz-{rng.randrange(10**8)}"
    if k == "rest":
        fields.update({"json:sender": sender, "json:message": "hello", "json:metadata": {}})
    elif k == "rest-poll":
        fields["query:sender"] = sender
    elif k == "rasa-json":
        fields.update({f"json:{n}": v for n, v in _rasa_json(route.path).items()})
    elif k == "rasa-get":
        fields["query:include_events"] = "AFTER_RESTART"
    elif k == "wechat-post":
        fields.update({
            "xml:ToUserName": ctx.wechat_account, "xml:FromUserName": f"o{sender}",
            "xml:CreateTime": str(ctx.now), "xml:MsgType": "text", "xml:Content": "你好",
            "xml:MsgId": str(rng.randrange(10**15, 10**16)),
        })  # fmt: skip
    elif k == "wechat-get":
        fields["query:echostr"] = str(rng.randrange(10**9))
    elif k == "telegram-post":
        chat = rng.randrange(10**9, 10**10)
        fields.update({
            "upd:update_id": rng.randrange(10**8, 10**9),
            "upd:message.message_id": rng.randrange(1, 10**6), "upd:message.date": ctx.now,
            "upd:message.chat.id": chat, "upd:message.chat.type": "private",
            "upd:message.from.id": chat, "upd:message.from.is_bot": False,
            "upd:message.from.first_name": "Fuzz", "upd:message.from.language_code": "en",
            "upd:message.text": "hello",
        })  # fmt: skip
    elif k == "voice-turn":
        fields.update({"header:X-Anxin-Sender": sender, "query:language": "en",
                       "header:X-Anxin-Turn-Id": f"t{rng.randrange(10**9)}"})  # fmt: skip
    elif k == "voice-register":
        fields.update({"form:uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                       "form:caller": "13800000000"})  # fmt: skip
    elif k == "voice-ws":
        fields.update({"query:sender": sender, "query:language": "en"})
    elif k in ("staff-page", "staff-api-get"):
        fields.update({f"query:{n}": _staff_value(n) for n in route.query})
    elif k == "staff-form":
        fields.update({f"form:{n}": _staff_value(n) for n in route.fields})
    elif k == "staff-api-post":
        fields.update({f"json:{n}": _staff_value(n) for n in route.fields})
        if "json:slot_id" in fields:
            fields["json:slot_id"] = int(INT_BASE)
    elif k == "staff-login":
        fields.update({f"form:{n}": _staff_value(n) for n in ("username", "password", "next")})
    if not any(key.split(":", 1)[0] in ("json", "form", "xml", "upd", "query") for key in fields):
        fields["query:x"] = "1"  # a route that reads nothing still gets a field to spoil
    return fields


def _q(value: Any) -> str:
    """A field value in a URL: text percent-encoded, bytes as they are (encoded too)."""
    if isinstance(value, bytes):
        return quote(value, safe="")
    if isinstance(value, (dict, list)):
        return quote(utf8(dump_json(value)), safe="")
    if value is None or isinstance(value, bool):
        return quote(str(value).lower() if isinstance(value, bool) else "", safe="")
    if isinstance(value, RawJson):
        return quote(value.text, safe="")
    return quote(utf8(str(value)), safe="")


def _pairs(fields: dict[str, Any], carrier: str) -> list[tuple[str, Any]]:
    out = []
    for key, value in fields.items():
        kind, _, name = key.partition(":")
        if kind != carrier:
            continue
        if isinstance(value, list) and value and carrier in ("query", "form"):
            out += [(name, v) for v in value]  # repeated keys
        else:
            out.append((name, value))
    return out


def _query(fields: dict[str, Any], extra: Optional[list[tuple[str, str]]] = None) -> str:
    pairs = [f"{quote(k, safe='')}={_q(v)}" for k, v in _pairs(fields, "query")]
    pairs += [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in extra or []]
    return ("?" + "&".join(pairs)) if pairs else ""


def _path(route: Route, fields: dict[str, Any]) -> str:
    path = route.path
    for name, _ in route.params:
        value = fields.get(f"path:{name}", INT_BASE)
        text = value.decode("latin-1") if isinstance(value, bytes) else None
        path = path.replace("{" + name + "}", text if text is not None else _q(value))
    return path


def _nest(fields: dict[str, Any], carrier: str) -> dict[str, Any]:
    """``upd:message.chat.id`` style keys as nested objects."""
    out: dict[str, Any] = {}
    for name, value in _pairs(fields, carrier):
        node = out
        parts = name.split(".")
        for p in parts[:-1]:
            child = node.get(p)
            if not isinstance(child, dict):
                child = node[p] = {}
            node = child
        node[parts[-1]] = value
    return out


def _xml_value(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value.isdigit():
        return value.encode()
    if isinstance(value, (dict, list)):
        return b"".join(b"<item>" + _xml_value(v) + b"</item>" for v in (
            value.values() if isinstance(value, dict) else value))  # fmt: skip
    if isinstance(value, RawJson):
        return value.text.encode()
    return b"<![CDATA[" + utf8("" if value is None else str(value)) + b"]]>"


def wechat_xml(fields: dict[str, Any]) -> bytes:
    inner = b"".join(
        b"<" + n.encode() + b">" + _xml_value(v) + b"</" + n.encode() + b">"
        for n, v in _pairs(fields, "xml")
    )
    return b"<xml>" + inner + b"</xml>"


@dataclass
class Opts:
    """How the envelope around the fields is made."""

    auth: str = "valid"  # "valid", "none", "wrong" (or a variant the class sets itself)
    body: Optional[bytes] = None  # instead of the fields' body
    content_type: Optional[str] = None
    ascii_json: bool = True
    wechat_aes: bool = False
    signed: Optional[tuple[str, str, str]] = None  # WeChat (token, timestamp, nonce) to sign
    role: str = "admin"  # the staff session used
    csrf: Optional[str] = None  # the CSRF token sent instead of the session's own
    extra_headers: list[tuple[str, bytes]] = field(default_factory=list)


def _bearer(token: Optional[str], auth: str) -> list[tuple[str, bytes]]:
    if auth == "none" or token is None and auth == "valid":
        return []
    value = token if auth == "valid" and token else "wrong-" + (token or "token")
    return [("Authorization", b"Bearer " + value.encode())]


def render(route: Route, ctx: Context, rng: random.Random, fields: dict[str, Any],
           opts: Optional[Opts] = None) -> HttpRequest:  # fmt: skip
    """The route's request carrying ``fields``, valid in every other way."""
    o = opts or Opts()
    k = route.kind
    path = _path(route, fields)
    headers: list[tuple[str, bytes]] = []
    body = b""
    extra_query: list[tuple[str, str]] = []
    # A route that unloads or retrains the model never gets the token: it must refuse.
    refuse = route.danger and ctx.rasa_token is not None
    if k in ("rest", "rest-poll", "voice-turn", "voice-ws"):
        headers += _bearer(ctx.rest_token, o.auth)
    if k in ("rasa-json", "rasa-get"):
        if o.auth == "valid" and ctx.rasa_token and not route.danger:
            extra_query.append(("token", ctx.rasa_token))
        elif o.auth == "wrong":
            extra_query.append(("token", "wrong-" + (ctx.rasa_token or "token")))
    if k in ("rest", "rasa-json", "staff-api-post"):
        value = {n: v for n, v in _pairs(fields, "json")}
        body = dump_json(value, o.ascii_json).encode("utf-8", "surrogatepass")
        headers.append(("Content-Type", b"application/json"))
    if k == "telegram-post":
        body = dump_json(_nest(fields, "upd"), o.ascii_json).encode("utf-8", "surrogatepass")
        headers.append(("Content-Type", b"application/json"))
        if o.auth == "valid":
            headers.append(("X-Telegram-Bot-Api-Secret-Token", ctx.telegram_secret.encode()))
    if k in ("wechat-post", "wechat-get"):
        token, ts, nonce = o.signed or (ctx.wechat_token, str(ctx.now), f"n{rng.getrandbits(40)}")
        if k == "wechat-post":
            xml = wechat_xml(fields)
            headers.append(("Content-Type", b"text/xml"))
            if o.wechat_aes:
                encrypted = wechat_encrypt(xml, ctx.wechat_aes_key, ctx.wechat_app_id, rng)
                body = (f"<xml><ToUserName><![CDATA[{ctx.wechat_account}]]></ToUserName>"
                        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()  # fmt: skip
                extra_query += [
                    ("encrypt_type", "aes"),
                    ("msg_signature", wechat_signature(token, ts, nonce, encrypted)),
                ]
            else:
                body = xml
        if o.auth == "valid":
            extra_query = [("signature", wechat_signature(token, ts, nonce)), ("timestamp", ts),
                           ("nonce", nonce)] + extra_query  # fmt: skip
    if k == "voice-turn":
        headers += [(n, v if isinstance(v, bytes) else utf8(str(v)))
                    for n, v in _pairs(fields, "header")]  # fmt: skip
        headers.append(("Content-Type", b"audio/wav"))
        body = ctx.audio.get("wav-valid-silence") or fuzz_audio.wav(data=bytes(16000))
    if k == "voice-register":
        if o.auth == "valid":
            headers.append(("X-Anxin-Secret", ctx.audiosocket_secret.encode()))
        if rng.random() < 0.5:
            body = dump_json(dict(_pairs(fields, "form")), o.ascii_json).encode(
                "utf-8", "surrogatepass")  # fmt: skip
            headers.append(("Content-Type", b"application/json"))
        else:
            body = "&".join(f"{n}={_q(v)}" for n, v in _pairs(fields, "form")).encode()
            headers.append(("Content-Type", b"application/x-www-form-urlencoded"))
    if k == "voice-ws":
        headers += upgrade_headers(ws_key(rng))
    if k.startswith("staff") and k != "staff-login":
        api = k.startswith("staff-api")
        if o.auth == "valid" and api:
            headers.append(("Authorization", b"Bearer " + ctx.staff_token.encode()))
        elif o.auth == "valid" and o.role in ctx.sessions:
            cookie, csrf = ctx.sessions[o.role]
            headers.append(("Cookie", f"{SESSION_COOKIE}={cookie}".encode()))
            if k == "staff-form":
                fields = {**fields, "form:csrf_token": o.csrf if o.csrf is not None else csrf}
            elif k == "staff-api-post" and o.csrf is not None:
                headers.append(("X-CSRF-Token", o.csrf.encode()))
        if k == "staff-form":
            body = "&".join(f"{n}={_q(v)}" for n, v in _pairs(fields, "form")).encode()
            headers.append(("Content-Type", b"application/x-www-form-urlencoded"))
    if k == "staff-login":
        csrf = f"c{rng.getrandbits(64)}"
        form = {**fields, "form:csrf_token": o.csrf if o.csrf is not None else csrf}
        headers.append(("Cookie", f"{LOGIN_CSRF_COOKIE}={csrf}".encode()))
        body = "&".join(f"{n}={_q(v)}" for n, v in _pairs(form, "form")).encode()
        headers.append(("Content-Type", b"application/x-www-form-urlencoded"))
    if o.body is not None:
        body = o.body
    if o.content_type is not None:
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
        headers.append(("Content-Type", o.content_type.encode("latin-1", "replace")))
    headers += o.extra_headers
    target = path + _query(fields, extra_query)
    method = route.method if route.method not in ("WS", "TCP") else "GET"
    return HttpRequest(method, target, headers, body, refuse=refuse)


# -- values ---------------------------------------------------------------------------

SURROGATES = ["\ud800", "\udfff", "\ud83d", "a\udc00b", "\ud800\ud800"]
CONTROLS = ["\x00", "\x07\x08", "\x1b[31m", "\r\n", "\u202e", "\u200b\u200d", "\ufeff",
            "\uffff", "\x7f", "\u0085", "\u2028\u2029"]  # fmt: skip
WRONG_TYPES: list[Any] = [None, True, False, 0, -1, 1.5, [], {}, [1, "a"], {"a": {"b": 1}},
                          "", "x", [[[]]]]  # fmt: skip
BIG_NUMBERS: list[Any] = [2**63, 2**64, -(2**63) - 1, 10**30, -1, 0, 2**31, -(2**31) - 1,
                          1e308, RawJson("1e999"), RawJson("-1e999"), RawJson("NaN"),
                          RawJson("Infinity"), RawJson("-0"), RawJson("1e-400"),
                          RawJson("123456789012345678901234567890.5")]  # fmt: skip
ODD_PATH_VALUES = [
    "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2f", "..",
    ".", "%00", "a%00b", "%zz", "%", "%2F", "//", "%ff%fe", "☃", "𝕏", "null", "undefined",
    "{id}", "*", "1;x=1", "1 OR 1=1", "1'--", "-1", "0", "1e3", "0x10", "1.0", " 1",
    "9223372036854775808", "18446744073709551616", "-9223372036854775809",
    "99999999999999999999999999999", "NaN", "Infinity", "%20", "+", "~", "a" * 10_000,
]  # fmt: skip
DTMF_ODD: list[Any] = ["", "x", None, [], {}, 2**64, -1, "12345", "\u0661", True]
LONG_SIZES = [50_000, 100_000, 200_000, 500_000, 1_000_000]


def long_text(rng: random.Random) -> str:
    n = rng.choice(LONG_SIZES)
    unit = rng.choice(["我想订午饭", "hello ", "a", "预约 clinic 明天 ", "😀"])
    return (unit * (n // len(unit) + 1))[:n]


def _field(fields: dict[str, Any], rng: random.Random,
           carriers: tuple[str, ...] = ()) -> str:  # fmt: skip
    keys = [k for k in fields if not carriers or k.split(":", 1)[0] in carriers]
    keys = keys or list(fields)
    return rng.choice(sorted(keys))


# -- the classes ----------------------------------------------------------------------

Builder = Callable[[Route, Context, random.Random], Built]
HTTP_KINDS = frozenset({
    "rest", "rest-poll", "rasa-json", "rasa-get", "wechat-post", "wechat-get",
    "telegram-post", "voice-turn", "voice-register", "voice-ws", "staff-page", "staff-form",
    "staff-api-get", "staff-api-post", "staff-login", "health", "generic",
})  # fmt: skip
AUTH_KINDS = HTTP_KINDS - {"health", "generic", "staff-login"}


def _valid(route: Route, ctx: Context, rng: random.Random, **kw: Any) -> HttpRequest:
    return render(route, ctx, rng, base_fields(route, ctx, rng), Opts(**kw))


def c_wrong_method(route: Route, ctx: Context, rng: random.Random) -> Built:
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT",
               "FOO", "get", "POST ", "G\x00T", "M" * 300]  # fmt: skip
    method = rng.choice([m for m in methods if m != route.method])
    req = _valid(route, ctx, rng)
    req.method = method
    if method == "CONNECT":
        req.target = "127.0.0.1:22"
    return Built(repr(method)[1:-1][:20], req)


def c_length_lies(route: Route, ctx: Context, rng: random.Random) -> Built:
    req = _valid(route, ctx, rng)
    body = req.body or b'{"a": 1}'
    req.body = body
    variant = rng.choice(["shorter", "longer", "huge", "2^63", "2^64", "negative", "not-a-number",
                          "two-lengths", "length-and-chunked", "bad-chunks", "no-length",
                          "spaces", "plus-sign", "hex"])  # fmt: skip
    if variant == "shorter":
        req.length = str(max(0, len(body) // 2))
    elif variant == "longer":
        req.length, req.answer = str(len(body) + rng.randrange(1, 10_000)), OPTIONAL
    elif variant == "huge":
        req.length = str(10**12)
    elif variant == "2^63":
        req.length = str(2**63)
    elif variant == "2^64":
        req.length = str(2**64)
    elif variant == "negative":
        req.length = "-1"
    elif variant == "not-a-number":
        req.length = "abc"
    elif variant == "two-lengths":
        req.headers.append(("Content-Length", str(len(body) + 5).encode()))
    elif variant == "length-and-chunked":
        req.headers.append(("Transfer-Encoding", b"chunked"))
    elif variant == "bad-chunks":
        req.length = None
        req.headers.append(("Transfer-Encoding", b"chunked"))
        req.body = rng.choice([b"zz\r\n" + body + b"\r\n0\r\n\r\n",
                               b"ffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n",
                               b"5\r\nab\r\n0\r\n\r\n", b"-1\r\n\r\n",
                               b"3;" + b"x" * 20_000 + b"\r\nabc\r\n0\r\n\r\n"])  # fmt: skip
        req.answer = OPTIONAL if req.body.startswith(b"5\r\n") else req.answer
    elif variant == "no-length":
        req.length = None
    elif variant == "spaces":
        req.length = f" {len(body)} "
    elif variant == "plus-sign":
        req.length = f"+{len(body)}"
    else:
        req.length = hex(len(body))
    return Built(variant, req)


def c_huge_body(route: Route, ctx: Context, rng: random.Random) -> Built:
    size = rng.choice([1_000_001, 1_500_000, 2_000_000, 4_000_000])
    if rng.random() < 0.05:
        size = 10 * 1024 * 1024 + 1
    fields = base_fields(route, ctx, rng)
    how = rng.choice(["padding-field", "zeros", "random"])
    if how == "padding-field" and route.kind in ("rest", "rasa-json", "telegram-post",
                                                 "staff-api-post"):  # fmt: skip
        carrier = "upd" if route.kind == "telegram-post" else "json"
        fields[f"{carrier}:padding"] = "x" * size
        return Built(f"{size // 1000} kB in a field", render(route, ctx, rng, fields))
    body = bytes(size) if how == "zeros" else rng.randbytes(size)
    return Built(f"{size // 1000} kB of {how}",
                 render(route, ctx, rng, fields, Opts(body=body)))  # fmt: skip


def _bad_json(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([
        ("empty", b""), ("truncated", b'{"sender": "a", "message": "hi'), ("trailing", b"{} x"),
        ("single-quotes", b"{'sender': 'a'}"), ("bom", b"\xef\xbb\xbf{}"), ("nul", b"{\x00}"),
        ("comment", b'{"a": 1 /* x */}'), ("trailing-comma", b'{"a": 1,}'),
        ("bad-escape", b'{"a": "\\x41"}'), ("unquoted-key", b"{a: 1}"), ("just-colon", b":"),
        ("duplicate-keys", b'{"sender": "a", "sender": ["b"], "message": 1, "message": "x"}'),
        ("utf16", '{"message": "hi"}'.encode("utf-16")), ("whitespace", b" \t\r\n "),
        ("bad-surrogate-escape", b'{"message": "\\ud800\\u0041"}'),
    ])  # fmt: skip


def _bad_xml(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([
        ("empty", b""), ("unclosed", b"<xml><Content>hi</xml>"), ("no-root", b"<a/><b/>"),
        ("not-xml", b"hello"), ("cdata-broken", b"<xml><![CDATA[</xml>"),
        ("bad-entity", b"<xml>&nope;</xml>"), ("nul", b"<xml>\x00</xml>"),
        ("pi-only", b"<?xml version='1.0'?>"), ("other-root", b"<root><a>1</a></root>"),
        ("attr-bomb", b"<xml " + b" ".join(b'a%d="1"' % i for i in range(5000)) + b"/>"),
        ("encoding-lie", b"<?xml version='1.0' encoding='utf-32'?><xml/>"),
        ("json", b'{"xml": {}}'),
    ])  # fmt: skip


def c_bad_body(route: Route, ctx: Context, rng: random.Random) -> Built:
    xml = route.kind in ("wechat-post",)
    name, body = _bad_xml(rng) if xml else _bad_json(rng)
    if route.kind in ("staff-form", "staff-login", "voice-register") and rng.random() < 0.5:
        name, body = rng.choice(
            [
                ("form-no-equals", b"a&b&&&"),
                ("form-bad-percent", b"a=%zz"),
                ("form-nul", b"a=\x00"),
                ("multipart-no-boundary", b"--x\r\n"),
            ]
        )
        return Built(name, _valid(route, ctx, rng, body=body, content_type=(
            "multipart/form-data" if name.startswith("multipart") else None)))  # fmt: skip
    return Built(name, _valid(route, ctx, rng, body=body))


def c_non_object(route: Route, ctx: Context, rng: random.Random) -> Built:
    if route.kind == "wechat-post":
        name, body = rng.choice([("json-body", b"[]"), ("text", b"success"),
                                 ("xml-list", b"<xml><a/><a/></xml>"), ("xml-empty", b"<xml/>"),
                                 ("xml-text-root", b"<xml>hi</xml>")])  # fmt: skip
    else:
        name, body = rng.choice([
            ("list", b"[]"), ("string", b'"hello"'), ("number", b"1"), ("null", b"null"),
            ("true", b"true"), ("float", b"1e5"),
            ("list-of-objects", b'[{"sender": "a", "message": "hi"}]'),
        ])  # fmt: skip
    return Built(name, _valid(route, ctx, rng, body=body))


def c_deep_nesting(route: Route, ctx: Context, rng: random.Random) -> Built:
    depth = rng.choice([1_000, 10_000, 50_000])
    how = rng.choice(["body", "body", "field"])
    if route.kind == "wechat-post":
        inner = b"<a>" * depth + b"x" + b"</a>" * depth
        fields = base_fields(route, ctx, rng)
        if how == "field":
            fields["xml:Content"] = inner
            return Built(f"{depth} nested elements in Content", render(route, ctx, rng, fields))
        return Built(f"{depth} nested elements", _valid(route, ctx, rng,
                     body=b"<xml>" + inner + b"</xml>"))  # fmt: skip
    if how == "field" and route.kind in ("rest", "rasa-json", "telegram-post", "staff-api-post"):
        fields = base_fields(route, ctx, rng)
        key = _field(fields, rng, ("json", "upd"))
        fields[key] = RawJson("[" * depth + "]" * depth)
        return Built(f"{depth} nested lists in {key}", render(route, ctx, rng, fields))
    if route.kind in ("staff-form", "staff-login", "voice-register", "rest-poll", "rasa-get",
                      "staff-page", "staff-api-get", "wechat-get", "voice-ws", "health",
                      "generic"):  # fmt: skip
        fields = base_fields(route, ctx, rng)
        key = _field(fields, rng, ("form", "query"))
        fields[key] = "[" * depth
        name = key.split(":", 1)[1]
        if rng.random() < 0.5:
            nested = name + "".join(f"[{name}]" for _ in range(min(depth, 3000)))
            fields[f"{key.split(':', 1)[0]}:{nested}"] = "1"
        return Built(f"{depth} brackets in {key}", render(route, ctx, rng, fields))
    body = rng.choice([b"[" * depth, b'{"a":' * depth + b"1" + b"}" * depth,
                       b"[" * depth + b"]" * depth])  # fmt: skip
    return Built(f"{depth} nested", _valid(route, ctx, rng, body=body))


def c_non_utf8(route: Route, ctx: Context, rng: random.Random) -> Built:
    bad = rng.choice([b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80",
                      b"caf\xe9", b"\xe4\xbd", b"\xfe\xff\x00h\x00i"])  # fmt: skip
    where = rng.choice(["field", "body", "query", "header"])
    fields = base_fields(route, ctx, rng)
    if where == "body" and route.kind in ("rest", "rasa-json", "telegram-post", "staff-api-post"):
        req = render(route, ctx, rng, fields)
        cut = req.body.find(b'"', req.body.find(b":")) + 1 or 1
        req.body = req.body[:cut] + bad + req.body[cut:]
        return Built("in the JSON body", req)
    if where == "body" and route.kind == "wechat-post":
        fields["xml:Content"] = b"<![CDATA[" + bad + b"]]>"
        return Built("in the XML", render(route, ctx, rng, fields))
    if where == "query":
        req = render(route, ctx, rng, fields)
        req.target += ("&" if "?" in req.target else "?") + "q=" + bad.decode("latin-1")
        return Built("raw in the query", req)
    if where == "header":
        return Built("in a header", render(route, ctx, rng, fields, Opts(
            extra_headers=[("X-Fuzz", bad), ("User-Agent", b"fuzz" + bad)])))  # fmt: skip
    key = _field(fields, rng)
    fields[key] = bad if key.split(":", 1)[0] in ("path", "query", "form", "header", "xml") \
        else bad.decode("latin-1")  # fmt: skip
    req = render(route, ctx, rng, fields)
    if key.split(":", 1)[0] in ("json", "upd"):
        req.body = req.body.replace(dump_json(bad.decode("latin-1"))[1:-1].encode(), bad)
    return Built(f"in {key}", req)


def c_surrogates(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = _field(fields, rng, ("json", "upd", "xml", "form", "query", "header"))
    odd = rng.choice(SURROGATES + CONTROLS)
    value = rng.choice(["hello" + odd, odd, odd * 50, "我想" + odd + "订饭"])
    fields[key] = value
    label = "surrogate" if any(0xD800 <= ord(c) <= 0xDFFF for c in odd) else "control"
    return Built(f"{label} in {key}", render(route, ctx, rng, fields))


def c_long_string(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = _field(fields, rng)
    text = long_text(rng)
    if key.startswith(("path:", "query:", "header:")):
        text = text[: rng.choice([8_000, 50_000, 100_000])]
    fields[key] = text
    return Built(f"{len(text) // 1000}k chars in {key}",
                 render(route, ctx, rng, fields, Opts(ascii_json=False)))  # fmt: skip


def c_wrong_types(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = _field(fields, rng)
    old = fields[key]
    value = rng.choice([v for v in WRONG_TYPES if type(v) is not type(old)])
    if rng.random() < 0.15:  # or the field is not there at all
        del fields[key]
        return Built(f"{key} missing", render(route, ctx, rng, fields))
    fields[key] = value
    return Built(f"{type(value).__name__} in {key}", render(route, ctx, rng, fields))


def c_big_numbers(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = _field(fields, rng)
    value = rng.choice(BIG_NUMBERS)
    fields[key] = value
    return Built(f"{str(getattr(value, 'text', value))[:24]} in {key}",
                 render(route, ctx, rng, fields))  # fmt: skip


def c_odd_path(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    params = [k for k in fields if k.startswith("path:")]
    if params and rng.random() < 0.7:
        key = rng.choice(params)
        value = rng.choice(ODD_PATH_VALUES)
        fields[key] = value.encode() if rng.random() < 0.5 else value  # raw or encoded
        return Built(f"{value[:24]!r} in {key}", render(route, ctx, rng, fields))
    req = render(route, ctx, rng, fields)
    path, _, query = req.target.partition("?")
    suffix = rng.choice(["/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "//", "/.",
                         "%00", ";jsessionid=1", "/" + "a" * 10_000, "%zz", "/☃", "\\..\\",
                         "/./././", "~", "%2F", "/" + "/".join(["a"] * 3000)])  # fmt: skip
    variant = rng.choice(["suffix", "upper", "double-slash", "no-slash", "absolute", "star"])
    if variant == "suffix":
        path += suffix
    elif variant == "upper":
        path = path.upper()
    elif variant == "double-slash":
        path = "/" + path
    elif variant == "no-slash":
        path = path.lstrip("/")
    elif variant == "absolute":
        path = "http://evil.example" + path
    else:
        path = "*"
    req.target = path + ("?" + query if query else "")
    return Built(variant if variant != "suffix" else f"suffix {suffix[:20]!r}", req)


def c_query_bomb(route: Route, ctx: Context, rng: random.Random) -> Built:
    req = _valid(route, ctx, rng)
    variant = rng.choice(
        [
            "10k-params",
            "1k-params",
            "repeated-key",
            "long-value",
            "broken-percent",
            "brackets",
            "only-separators",
            "semicolons",
        ]
    )
    n = {"10k-params": 10_000, "1k-params": 1_000}.get(variant, 300)
    extra = {
        "10k-params": lambda: "&".join(f"p{i}={i}" for i in range(n)),
        "1k-params": lambda: "&".join(f"p{i}={i}" for i in range(n)),
        "repeated-key": lambda: "&".join("sender=x" for _ in range(2000)),
        "long-value": lambda: "q=" + "a" * rng.choice([8_000, 60_000, 200_000]),
        "broken-percent": lambda: "q=%&%%=%zz&%G0=1&a=%e4%bd",
        "brackets": lambda: "a" + "[a]" * 3000 + "=1",
        "only-separators": lambda: "&" * 5000 + "=" * 500,
        "semicolons": lambda: ";".join(f"k{i}=v" for i in range(2000)),
    }[variant]()
    req.target += ("&" if "?" in req.target else "?") + extra
    return Built(variant, req)


def c_header_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    req = _valid(route, ctx, rng)
    variant = rng.choice([
        "many-headers", "huge-header", "no-colon", "folded", "nul-in-value", "no-host",
        "two-hosts", "http-1.0", "http-2.0", "http-9.9", "lowercase-version", "expect-continue",
        "expect-garbage", "content-type-odd", "content-type-huge", "cookie-bomb",
        "authorization-huge", "space-before-colon", "empty-name", "transfer-gzip",
        "forwarded-spoof", "huge-user-agent", "bare-lf",
    ])  # fmt: skip
    h = req.headers
    if variant == "many-headers":
        h += [(f"X-Fuzz-{i}", b"1") for i in range(rng.choice([200, 1000, 5000]))]
    elif variant == "huge-header":
        h.append(("X-Fuzz", b"a" * rng.choice([9_000, 70_000, 1_000_000])))
    elif variant == "no-colon":
        h.append(("X-Fuzz-no-colon", b""))
        req.raw = req.wire("127.0.0.1").replace(b"X-Fuzz-no-colon: ", b"X-Fuzz-no-colon", 1)
    elif variant == "folded":
        h.append(("X-Fuzz", b"a\r\n  folded"))
    elif variant == "nul-in-value":
        h.append(("X-Fuzz", b"a\x00b"))
    elif variant == "no-host":
        req.raw = b"\r\n".join(x for x in req.wire("127.0.0.1").split(b"\r\n")
                               if not x.lower().startswith(b"host:"))  # fmt: skip
    elif variant == "two-hosts":
        h.append(("Host", b"evil.example"))
    elif variant in ("http-1.0", "http-2.0", "http-9.9", "lowercase-version"):
        version = {"http-1.0": b"HTTP/1.0", "http-2.0": b"HTTP/2.0", "http-9.9": b"HTTP/9.9",
                   "lowercase-version": b"http/1.1"}[variant]  # fmt: skip
        req.raw = req.wire("127.0.0.1").replace(b"HTTP/1.1", version, 1)
    elif variant == "expect-continue":
        h.append(("Expect", b"100-continue"))
    elif variant == "expect-garbage":
        h.append(("Expect", b"fuzz"))
    elif variant == "content-type-odd":
        req.headers = [(n, v) for n, v in h if n.lower() != "content-type"]
        req.headers.append(("Content-Type", rng.choice([
            b"application/json; charset=utf-16", b"multipart/form-data", b"text/xml; charset=x",
            b"application/x-www-form-urlencoded", b";;;", b"application/json; charset=\xff",
            b"multipart/form-data; boundary=" + b"b" * 5000])))  # fmt: skip
    elif variant == "content-type-huge":
        h.append(("Content-Type", b"application/json; x=" + b"y" * 50_000))
    elif variant == "cookie-bomb":
        h.append(("Cookie", b"; ".join(b"c%d=%d" % (i, i) for i in range(3000))))
    elif variant == "authorization-huge":
        h.append(("Authorization", b"Bearer " + b"x" * 60_000))
    elif variant == "space-before-colon":
        h.append(("Content-Length ", b"5"))
    elif variant == "empty-name":
        h.append(("", b"value"))
    elif variant == "transfer-gzip":
        h.append(("Transfer-Encoding", b"gzip"))
    elif variant == "forwarded-spoof":
        h += [("X-Forwarded-For", b"1.2.3.4, 5.6.7.8"), ("X-Real-IP", b"1.2.3.4"),
              ("Forwarded", b"for=1.2.3.4;proto=https")]  # fmt: skip
    elif variant == "huge-user-agent":
        h.append(("User-Agent", b"Mozilla/" + b"9" * 20_000))
    else:
        req.raw = req.wire("127.0.0.1").replace(b"\r\n", b"\n")
    return Built(variant, req)


def c_not_http(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant, raw = rng.choice([
        ("random-bytes", rng.randbytes(rng.randrange(1, 4000))),
        ("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(64)),
        ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + rng.randbytes(30)),
        ("only-crlf", b"\r\n" * 2000), ("nul-bytes", bytes(5000)),
        ("request-line-only", f"GET {route.path}\r\n\r\n".encode()),
        ("huge-request-line", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n"),
        ("smtp", b"HELO fuzz\r\nMAIL FROM:<a@b>\r\n"), ("ssh", b"SSH-2.0-OpenSSH_9.0\r\n"),
    ])  # fmt: skip
    req = HttpRequest("GET", route.path, raw=raw, answer=OPTIONAL)
    return Built(variant, req)


def c_abrupt(route: Route, ctx: Context, rng: random.Random) -> Built:
    req = _valid(route, ctx, rng)
    wire = req.wire("127.0.0.1")
    variant = rng.choice(["mid-request-line", "mid-headers", "mid-body", "after-headers",
                          "connect-only"])  # fmt: skip
    cut = {
        "mid-request-line": lambda: rng.randrange(1, max(2, wire.find(b"\r\n"))),
        "mid-headers": lambda: rng.randrange(wire.find(b"\r\n") + 2, wire.find(b"\r\n\r\n") + 2),
        "mid-body": lambda: wire.find(b"\r\n\r\n") + 4 + len(req.body) // 2,
        "after-headers": lambda: wire.find(b"\r\n\r\n") + 4,
        "connect-only": lambda: 0,
    }[variant]()
    req.send_only, req.answer = cut, NONE
    return Built(variant, req)


def c_auth_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    k = route.kind
    if k in ("wechat-post", "wechat-get"):
        return _wechat_signature_odd(route, ctx, rng)
    if k == "telegram-post":
        variant, secret = rng.choice([
            ("no-secret", None), ("empty", b""), ("wrong", b"wrong-secret"),
            ("prefix", ctx.telegram_secret[:-1].encode()),
            ("longer", ctx.telegram_secret.encode() + b"x"),
            ("case", ctx.telegram_secret.upper().encode()), ("huge", b"s" * 10_000),
            ("non-ascii", ctx.telegram_secret.encode() + b"\xff"),
        ])  # fmt: skip
        extra = [] if secret is None else [("X-Telegram-Bot-Api-Secret-Token", secret)]
        req = _valid(route, ctx, rng, auth="none", extra_headers=extra)
        req.refuse = True
        return Built(variant, req)
    if k == "voice-register":
        variant, secret = rng.choice([("no-secret", None), ("wrong", b"wrong"), ("empty", b""),
                                      ("huge", b"s" * 10_000)])  # fmt: skip
        extra = [] if secret is None else [("X-Anxin-Secret", secret)]
        req = _valid(route, ctx, rng, auth="none", extra_headers=extra)
        req.refuse = True
        return Built(variant, req)
    if k.startswith("staff"):
        return _staff_auth_odd(route, ctx, rng)
    variant = rng.choice(["no-token", "wrong-token", "odd-scheme", "token-in-query"])
    if variant == "no-token":
        req = _valid(route, ctx, rng, auth="none")
    elif variant == "wrong-token":
        req = _valid(route, ctx, rng, auth="wrong")
    elif variant == "odd-scheme":
        req = _valid(route, ctx, rng, auth="none", extra_headers=[("Authorization", rng.choice(
            [b"Basic Zm9vOmJhcg==", b"Bearer", b"Bearer  ", b"bearer x y", b"Token abc",
             b"Bearer \xff\xfe"]))])  # fmt: skip
    else:
        req = _valid(route, ctx, rng, auth="none")
        req.target += ("&" if "?" in req.target else "?") + "token=%00%ff&token=x"
    protected = ctx.rest_token if k in ("rest", "rest-poll", "voice-turn", "voice-ws") \
        else ctx.rasa_token  # fmt: skip
    req.refuse = protected is not None
    return Built(variant, req)


def _wechat_signature_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    now = ctx.now
    variants: dict[str, Optional[tuple[str, str, str]]] = {
        "unsigned": None,
        "wrong-token": ("not-the-token", str(now), f"n{rng.getrandbits(40)}"),
        "expired-2001": (ctx.wechat_token, "978307200", f"n{rng.getrandbits(40)}"),
        "an-hour-old": (ctx.wechat_token, str(now - 3600), f"n{rng.getrandbits(40)}"),
        "a-day-ahead": (ctx.wechat_token, str(now + 86400), f"n{rng.getrandbits(40)}"),
        "replayed-nonce": (ctx.wechat_token, *ctx.wechat_replay),
        "timestamp-2^64": (ctx.wechat_token, str(2**64), f"n{rng.getrandbits(40)}"),
        "timestamp-text": (ctx.wechat_token, "yesterday", f"n{rng.getrandbits(40)}"),
        "empty-nonce": (ctx.wechat_token, str(now), ""),
    }
    variant = rng.choice(sorted(variants) + ["bad-signature", "signature-case", "duplicated"])
    fields = base_fields(route, ctx, rng)
    if variant in variants:
        signed = variants[variant]
        if signed is None:
            req = render(route, ctx, rng, fields, Opts(auth="none"))
        else:
            req = render(route, ctx, rng, fields, Opts(signed=signed))
    else:
        req = render(route, ctx, rng, fields)
        path, _, query = req.target.partition("?")
        parts = query.split("&")
        for i, p in enumerate(parts):
            if p.startswith("signature="):
                sig = p.split("=", 1)[1]
                parts[i] = {"bad-signature": "signature=" + sig[::-1],
                            "signature-case": "signature=" + sig.upper(),
                            "duplicated": p + "&signature=" + "0" * 40}[variant]  # fmt: skip
        req.target = path + "?" + "&".join(parts)
    req.refuse = True  # unsigned, wrongly signed, stale or replayed: all refused
    return Built(variant, req)


def _staff_auth_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    api = route.kind.startswith("staff-api")
    variants = ["no-auth", "forged-cookie", "expired-session", "token-as-cookie",
                "cookie-bomb", "volunteer"]  # fmt: skip
    variants += ["forged-bearer", "revoked-shape", "session-on-api-post"] if api else \
        ["bearer-on-page"]  # fmt: skip
    variant = rng.choice(variants)
    fields = base_fields(route, ctx, rng)
    refuse = True
    if variant == "no-auth":
        req = render(route, ctx, rng, fields, Opts(auth="none"))
    elif variant == "forged-cookie":
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Cookie", f"{SESSION_COOKIE}={rng.getrandbits(256):x}".encode())]))  # fmt: skip
    elif variant == "expired-session" and "expired" in ctx.sessions:
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Cookie", f"{SESSION_COOKIE}={ctx.sessions['expired'][0]}".encode())]))  # fmt: skip
    elif variant == "token-as-cookie":
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Cookie", f"{SESSION_COOKIE}={ctx.staff_token}".encode())]))  # fmt: skip
    elif variant == "cookie-bomb":
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Cookie", b"; ".join(b"%s=%d" % (SESSION_COOKIE.encode(), i)
                                  for i in range(2000)))]))  # fmt: skip
    elif variant == "volunteer":
        # A volunteer may read some views; only what needs more than a volunteer is refused.
        cookie = ctx.sessions.get("volunteer", ("", ""))
        headers = [("Cookie", f"{SESSION_COOKIE}={cookie[0]}".encode())]
        body = None
        if route.kind == "staff-form":
            body = "&".join(f"{n}={_q(v)}" for n, v in _pairs(fields, "form")).encode()
            body += f"&csrf_token={cookie[1]}".encode()
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=headers, body=body))
        refuse = route.method not in ("GET", "HEAD")
    elif variant == "forged-bearer":
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Authorization", f"Bearer anx_{rng.getrandbits(128):x}".encode())]))  # fmt: skip
    elif variant == "revoked-shape":
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Authorization", b"Bearer " + ctx.staff_token[:-2].encode())]))  # fmt: skip
    elif variant == "session-on-api-post":
        admin = ctx.sessions.get("admin", ("", ""))[0]
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Cookie", f"{SESSION_COOKIE}={admin}".encode())]))  # fmt: skip
        refuse = route.method not in ("GET", "HEAD")  # no X-CSRF-Token
    else:  # a bearer token on a form page: the token drives the API only
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=[
            ("Authorization", b"Bearer " + ctx.staff_token.encode())]))  # fmt: skip
    req.refuse = refuse and route.path not in ("/login", "/healthz")
    return Built(variant, req)


def c_csrf_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    variant = rng.choice(["missing", "forged", "other-session", "empty", "huge", "non-ascii"])
    other = ctx.sessions.get("staff", ("", "x"))[1]
    csrf = {"missing": None, "forged": f"{rng.getrandbits(256):x}", "other-session": other,
            "empty": "", "huge": "c" * 100_000, "non-ascii": "ü\ud800"}[variant]  # fmt: skip
    fields = base_fields(route, ctx, rng)
    if route.kind == "staff-form":
        if csrf is None:
            cookie, _ = ctx.sessions.get("admin", ("", ""))
            body = "&".join(f"{n}={_q(v)}" for n, v in _pairs(fields, "form")).encode()
            req = render(route, ctx, rng, fields, Opts(auth="none", body=body, extra_headers=[
                ("Cookie", f"{SESSION_COOKIE}={cookie}".encode())]))  # fmt: skip
        else:
            req = render(route, ctx, rng, fields, Opts(csrf=csrf))
    else:  # the API with a browser session: X-CSRF-Token
        cookie, _ = ctx.sessions.get("admin", ("", ""))
        headers = [("Cookie", f"{SESSION_COOKIE}={cookie}".encode())]
        if csrf is not None:
            headers.append(("X-CSRF-Token", utf8(csrf)))
        req = render(route, ctx, rng, fields, Opts(auth="none", extra_headers=headers))
    req.refuse = True
    return Built(variant, req)


def c_login_odd(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    variant = rng.choice(["forged-csrf", "no-csrf-cookie", "open-redirect", "js-redirect",
                          "huge-password", "huge-username", "admin-wrong-password",
                          "sql-ish", "unicode-username", "empty"])  # fmt: skip
    opts = Opts()
    if variant == "forged-csrf":
        opts.csrf = "forged"
    elif variant == "no-csrf-cookie":
        req = render(route, ctx, rng, fields)
        req.headers = [(n, v) for n, v in req.headers if n != "Cookie"]
        req.refuse = True
        return Built(variant, req)
    elif variant == "open-redirect":
        fields["form:next"] = rng.choice(["//evil.example/", "https://evil.example",
                                          "/\\evil.example", "\\\\evil.example"])  # fmt: skip
    elif variant == "js-redirect":
        fields["form:next"] = "javascript:alert(1)"
    elif variant == "huge-password":
        fields["form:password"] = "p" * rng.choice([10_000, 1_000_000])
    elif variant == "huge-username":
        fields["form:username"] = "u" * 100_000
    elif variant == "admin-wrong-password":
        fields["form:username"] = "fuzz-admin"
    elif variant == "sql-ish":
        fields["form:username"] = "' OR 1=1 --"
    elif variant == "unicode-username":
        fields["form:username"] = "管理员\u202e"
    else:
        fields = {"form:username": "", "form:password": ""}
    req = render(route, ctx, rng, fields, opts)
    req.refuse = True  # none of these logs anyone in
    return Built(variant, req)


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
        encrypted = wechat_encrypt(_bad_xml(rng)[1], ctx.wechat_aes_key, ctx.wechat_app_id, rng)
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
                 _valid(route, ctx, rng, body=data, content_type=content_type))  # fmt: skip


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
        headers = upgrade_headers(ws_key(rng)) + _bearer(ctx.rest_token, "valid")
    return WsRequest(route.path + _query(fields), headers, frames, finish, keeps, listen_s)


def c_ws_handshake(route: Route, ctx: Context, rng: random.Random) -> Built:
    key = ws_key(rng)
    good = upgrade_headers(key) + _bearer(ctx.rest_token, "valid")
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
        "dtmf-odd": lambda: [
            ws_frame(TEXT, dump_json({"dtmf": v}).encode(), r)
            for v in DTMF_ODD
        ],
        "dtmf-huge": lambda: [ws_frame(TEXT, dump_json({"dtmf": "9" * 100_000}).encode(), r)],
        "hangup-odd": lambda: [
            ws_frame(TEXT, dump_json({"hangup": v}).encode(), r) for v in ["no", 0, [], None]
        ],
        "empty-frames": lambda: [ws_frame(BINARY, b"", r), ws_frame(TEXT, b"", r)],
        "json-surrogate": lambda: [ws_frame(TEXT, b'{"dtmf": "\\ud800"}', r)],
        "big-text": lambda: [ws_frame(TEXT, b"{" + b" " * 500_000 + b"}", r)],
    }[variant]()
    keeps = variant not in ("json-deep", "big-text", "dtmf-huge")
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


# -- the class table ------------------------------------------------------------------


@dataclass(frozen=True)
class Klass:
    build: Builder
    applies: Callable[[Route], bool]
    weight: int = 1


def _kinds(*kinds: str) -> Callable[[Route], bool]:
    return lambda r: r.kind in kinds


def _http(r: Route) -> bool:
    return r.kind in HTTP_KINDS


def _http_not_ws(r: Route) -> bool:
    return r.kind in HTTP_KINDS and r.kind != "voice-ws"


CLASSES: dict[str, Klass] = {
    "wrong-method": Klass(c_wrong_method, _http),
    "length-lies": Klass(c_length_lies, _http_not_ws),
    "huge-body": Klass(c_huge_body, _http_not_ws),
    "bad-body": Klass(c_bad_body, _http_not_ws),
    "non-object": Klass(c_non_object, _http_not_ws),
    "deep-nesting": Klass(c_deep_nesting, _http),
    "non-utf8": Klass(c_non_utf8, _http),
    "surrogates-controls": Klass(c_surrogates, _http),
    "long-string": Klass(c_long_string, _http),
    "wrong-types": Klass(c_wrong_types, _http),
    "big-numbers": Klass(c_big_numbers, _http),
    "odd-path": Klass(c_odd_path, _http),
    "query-bomb": Klass(c_query_bomb, _http),
    "header-odd": Klass(c_header_odd, _http),
    "not-http": Klass(c_not_http, _http),
    "abrupt": Klass(c_abrupt, _http_not_ws),
    "auth-odd": Klass(c_auth_odd, lambda r: r.kind in AUTH_KINDS),
    "csrf-odd": Klass(c_csrf_odd, _kinds("staff-form", "staff-api-post"), 2),
    "login-odd": Klass(c_login_odd, _kinds("staff-login"), 2),
    "xml-attack": Klass(c_xml_attack, _kinds("wechat-post"), 2),
    "safe-mode-odd": Klass(c_safe_mode_odd, _kinds("wechat-post"), 2),
    "voice-audio": Klass(c_voice_audio, _kinds("wechat-post", "telegram-post", "voice-turn"), 3),
    "update-odd": Klass(c_update_odd, _kinds("telegram-post"), 2),
    "ws-handshake": Klass(c_ws_handshake, _kinds("voice-ws"), 3),
    "ws-bad-frames": Klass(c_ws_bad_frames, _kinds("voice-ws"), 4),
    "ws-garbage": Klass(c_ws_garbage, _kinds("voice-ws"), 4),
    "ws-abrupt": Klass(c_ws_abrupt, _kinds("voice-ws"), 3),
    "as-bad-kind": Klass(c_as_bad_kind, _kinds("audiosocket")),
    "as-bad-length": Klass(c_as_bad_length, _kinds("audiosocket")),
    "as-truncated": Klass(c_as_truncated, _kinds("audiosocket")),
    "as-order": Klass(c_as_order, _kinds("audiosocket")),
    "as-garbage": Klass(c_as_garbage, _kinds("audiosocket")),
    "as-abrupt": Klass(c_as_abrupt, _kinds("audiosocket")),
    "as-dtmf-odd": Klass(c_as_dtmf_odd, _kinds("audiosocket")),
    "as-rates": Klass(c_as_rates, _kinds("audiosocket")),
}


def plan(
    routes: list[Route],
    requests: int,
    seed: int,
    groups: Optional[set[str]] = None,
    classes: Optional[set[str]] = None,
) -> list[Probe]:
    """``requests`` probes spread over groups, then classes (by weight), then routes."""
    rng = random.Random(seed)
    by_group: dict[str, list[Route]] = {}
    for r in sorted(routes, key=lambda r: (r.group, r.key)):
        if groups is None or r.group in groups:
            by_group.setdefault(r.group, []).append(r)
    names = [g for g in GROUPS if g in by_group] + sorted(set(by_group) - set(GROUPS))
    cycles: dict[str, list[tuple[str, list[Route]]]] = {}
    for g in names:
        cycle = []
        for name, klass in CLASSES.items():
            if classes is not None and name not in classes:
                continue
            fits = [r for r in by_group[g] if klass.applies(r)]
            if fits:
                cycle += [(name, fits)] * klass.weight
        if cycle:
            cycles[g] = cycle
    names = [g for g in names if g in cycles]
    if not names:
        return []
    probes: list[Probe] = []
    for gi, g in enumerate(names):
        count = requests // len(names) + (1 if gi < requests % len(names) else 0)
        cycle = cycles[g]
        turns: dict[str, int] = {}
        for i in range(count):
            name, fits = cycle[i % len(cycle)]
            n = turns.get(name, 0)
            turns[name] = n + 1
            route = fits[n % len(fits)]
            probes.append(Probe(0, g, route.key, name, rng.getrandbits(63)))
    rng.shuffle(probes)  # groups interleaved in time, as traffic would be
    return [Probe(i, p.group, p.route, p.klass, p.seed) for i, p in enumerate(probes)]


def build(probe: Probe, route: Route, ctx: Context) -> Built:
    return CLASSES[probe.klass].build(route, ctx, random.Random(probe.seed))
