"""The requests ``anxin bench fuzz`` spoils: each route's valid request, field by field.

A route's fields are keyed ``carrier:name`` (``json:message``, ``xml:Content``,
``upd:message.chat.id`` for a Telegram update, ``header:X-Anxin-Sender``, ``form:reason``,
``query:sender``, ``path:booking_id``), so an input class can put any value in any one of
them and ``render`` still wraps the rest validly: signed for WeChat (and encrypted in safe
mode), the secret for Telegram, the tokens when the stack has them, the staff session and
its CSRF token. Pure: no sockets, no clock (the time is the context's).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import quote

from anxin.bench import fuzz_audio
from anxin.bench.fuzz_wire import (
    HttpRequest,
    RawJson,
    Request,
    dump_json,
    upgrade_headers,
    utf8,
    wechat_encrypt,
    wechat_signature,
    ws_key,
)

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


def url_value(value: Any) -> str:
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


def pairs(fields: dict[str, Any], carrier: str) -> list[tuple[str, Any]]:
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


def query_string(fields: dict[str, Any], extra: Optional[list[tuple[str, str]]] = None) -> str:
    parts = [f"{quote(k, safe='')}={url_value(v)}" for k, v in pairs(fields, "query")]
    parts += [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in extra or []]
    return ("?" + "&".join(parts)) if parts else ""


def _path(route: Route, fields: dict[str, Any]) -> str:
    path = route.path
    for name, _ in route.params:
        value = fields.get(f"path:{name}", INT_BASE)
        text = value.decode("latin-1") if isinstance(value, bytes) else None
        path = path.replace("{" + name + "}", text if text is not None else url_value(value))
    return path


def _nest(fields: dict[str, Any], carrier: str) -> dict[str, Any]:
    """``upd:message.chat.id`` style keys as nested objects."""
    out: dict[str, Any] = {}
    for name, value in pairs(fields, carrier):
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
        for n, v in pairs(fields, "xml")
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


def bearer(token: Optional[str], auth: str) -> list[tuple[str, bytes]]:
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
        headers += bearer(ctx.rest_token, o.auth)
    if k in ("rasa-json", "rasa-get"):
        if o.auth == "valid" and ctx.rasa_token and not route.danger:
            extra_query.append(("token", ctx.rasa_token))
        elif o.auth == "wrong":
            extra_query.append(("token", "wrong-" + (ctx.rasa_token or "token")))
    if k in ("rest", "rasa-json", "staff-api-post"):
        value = {n: v for n, v in pairs(fields, "json")}
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
                    for n, v in pairs(fields, "header")]  # fmt: skip
        headers.append(("Content-Type", b"audio/wav"))
        body = ctx.audio.get("wav-valid-silence") or fuzz_audio.wav(data=bytes(16000))
    if k == "voice-register":
        if o.auth == "valid":
            headers.append(("X-Anxin-Secret", ctx.audiosocket_secret.encode()))
        if rng.random() < 0.5:
            body = dump_json(dict(pairs(fields, "form")), o.ascii_json).encode(
                "utf-8", "surrogatepass")  # fmt: skip
            headers.append(("Content-Type", b"application/json"))
        else:
            body = "&".join(f"{n}={url_value(v)}" for n, v in pairs(fields, "form")).encode()
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
            body = "&".join(f"{n}={url_value(v)}" for n, v in pairs(fields, "form")).encode()
            headers.append(("Content-Type", b"application/x-www-form-urlencoded"))
    if k == "staff-login":
        csrf = f"c{rng.getrandbits(64)}"
        form = {**fields, "form:csrf_token": o.csrf if o.csrf is not None else csrf}
        headers.append(("Cookie", f"{LOGIN_CSRF_COOKIE}={csrf}".encode()))
        body = "&".join(f"{n}={url_value(v)}" for n, v in pairs(form, "form")).encode()
        headers.append(("Content-Type", b"application/x-www-form-urlencoded"))
    if o.body is not None:
        body = o.body
    if o.content_type is not None:
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
        headers.append(("Content-Type", o.content_type.encode("latin-1", "replace")))
    headers += o.extra_headers
    target = path + query_string(fields, extra_query)
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


def pick_field(fields: dict[str, Any], rng: random.Random,
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


def valid(route: Route, ctx: Context, rng: random.Random, **kw: Any) -> HttpRequest:
    return render(route, ctx, rng, base_fields(route, ctx, rng), Opts(**kw))


def bad_json(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([
        ("empty", b""), ("truncated", b'{"sender": "a", "message": "hi'), ("trailing", b"{} x"),
        ("single-quotes", b"{'sender': 'a'}"), ("bom", b"\xef\xbb\xbf{}"), ("nul", b"{\x00}"),
        ("comment", b'{"a": 1 /* x */}'), ("trailing-comma", b'{"a": 1,}'),
        ("bad-escape", b'{"a": "\\x41"}'), ("unquoted-key", b"{a: 1}"), ("just-colon", b":"),
        ("duplicate-keys", b'{"sender": "a", "sender": ["b"], "message": 1, "message": "x"}'),
        ("utf16", '{"message": "hi"}'.encode("utf-16")), ("whitespace", b" \t\r\n "),
        ("bad-surrogate-escape", b'{"message": "\\ud800\\u0041"}'),
    ])  # fmt: skip


def bad_xml(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([
        ("empty", b""), ("unclosed", b"<xml><Content>hi</xml>"), ("no-root", b"<a/><b/>"),
        ("not-xml", b"hello"), ("cdata-broken", b"<xml><![CDATA[</xml>"),
        ("bad-entity", b"<xml>&nope;</xml>"), ("nul", b"<xml>\x00</xml>"),
        ("pi-only", b"<?xml version='1.0'?>"), ("other-root", b"<root><a>1</a></root>"),
        ("attr-bomb", b"<xml " + b" ".join(b'a%d="1"' % i for i in range(5000)) + b"/>"),
        ("encoding-lie", b"<?xml version='1.0' encoding='utf-32'?><xml/>"),
        ("json", b'{"xml": {}}'),
    ])  # fmt: skip
