"""Input classes any HTTP route gets (pure): wrong methods, lying lengths, huge and
malformed bodies, deep nesting, bad encodings, long strings, wrong types, big numbers, odd
paths and query strings, odd headers, bytes that are not HTTP, clients that leave early,
and the doors: credentials, signatures, CSRF tokens and the login form.
"""

from __future__ import annotations

import random
from typing import Optional

from anxin.bench.fuzz_requests import (
    BIG_NUMBERS,
    CONTROLS,
    ODD_PATH_VALUES,
    SESSION_COOKIE,
    SURROGATES,
    WRONG_TYPES,
    Built,
    Context,
    Opts,
    Route,
    bad_json,
    bad_xml,
    base_fields,
    long_text,
    pairs,
    pick_field,
    render,
    url_value,
    valid,
)
from anxin.bench.fuzz_wire import (
    NONE,
    OPTIONAL,
    HttpRequest,
    RawJson,
    dump_json,
    utf8,
)


def c_wrong_method(route: Route, ctx: Context, rng: random.Random) -> Built:
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT",
               "FOO", "get", "POST ", "G\x00T", "M" * 300]  # fmt: skip
    method = rng.choice([m for m in methods if m != route.method])
    req = valid(route, ctx, rng)
    req.method = method
    if method == "CONNECT":
        req.target = "127.0.0.1:22"
    if method == "OPTIONS":
        req.refuse = False  # a CORS preflight: answered without running the route
    return Built(repr(method)[1:-1][:20], req)


def c_length_lies(route: Route, ctx: Context, rng: random.Random) -> Built:
    req = valid(route, ctx, rng)
    body = req.body or b'{"a": 1}'
    req.body = body
    variant = rng.choice(["shorter", "longer", "huge", "2^63", "2^64", "negative", "not-a-number",
                          "two-lengths", "length-and-chunked", "bad-chunks", "no-length",
                          "spaces", "plus-sign", "hex"])  # fmt: skip
    if variant == "shorter":
        req.length = str(max(0, len(body) // 2))
    elif variant == "longer":
        req.length, req.answer = str(len(body) + rng.randrange(1, 10_000)), OPTIONAL
    elif variant in ("huge", "2^63", "2^64"):
        # 413 at once is best, but a server may also wait for a body it will never get
        req.length = {"huge": str(10**12), "2^63": str(2**63), "2^64": str(2**64)}[variant]
        req.answer = OPTIONAL
    elif variant == "negative":
        req.length = "-1"
    elif variant == "not-a-number":
        req.length = "abc"
    elif variant == "two-lengths":
        req.headers.append(("Content-Length", str(len(body) + 5).encode()))
    elif variant == "length-and-chunked":
        # chunked wins over the length: a short body without a chunk line is waited on
        req.headers.append(("Transfer-Encoding", b"chunked"))
        req.answer = OPTIONAL
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


def c_bad_body(route: Route, ctx: Context, rng: random.Random) -> Built:
    xml = route.kind in ("wechat-post",)
    name, body = bad_xml(rng) if xml else bad_json(rng)
    if route.kind in ("staff-form", "staff-login", "voice-register") and rng.random() < 0.5:
        name, body = rng.choice(
            [
                ("form-no-equals", b"a&b&&&"),
                ("form-bad-percent", b"a=%zz"),
                ("form-nul", b"a=\x00"),
                ("multipart-no-boundary", b"--x\r\n"),
            ]
        )
        return Built(name, valid(route, ctx, rng, body=body, content_type=(
            "multipart/form-data" if name.startswith("multipart") else None)))  # fmt: skip
    return Built(name, valid(route, ctx, rng, body=body))


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
    return Built(name, valid(route, ctx, rng, body=body))


def c_deep_nesting(route: Route, ctx: Context, rng: random.Random) -> Built:
    depth = rng.choice([1_000, 10_000, 50_000])
    how = rng.choice(["body", "body", "field"])
    if route.kind == "wechat-post":
        inner = b"<a>" * depth + b"x" + b"</a>" * depth
        fields = base_fields(route, ctx, rng)
        if how == "field":
            fields["xml:Content"] = inner
            return Built(f"{depth} nested elements in Content", render(route, ctx, rng, fields))
        return Built(f"{depth} nested elements", valid(route, ctx, rng,
                     body=b"<xml>" + inner + b"</xml>"))  # fmt: skip
    if how == "field" and route.kind in ("rest", "rasa-json", "telegram-post", "staff-api-post"):
        fields = base_fields(route, ctx, rng)
        key = pick_field(fields, rng, ("json", "upd"))
        fields[key] = RawJson("[" * depth + "]" * depth)
        return Built(f"{depth} nested lists in {key}", render(route, ctx, rng, fields))
    if route.kind in ("staff-form", "staff-login", "voice-register", "rest-poll", "rasa-get",
                      "staff-page", "staff-api-get", "wechat-get", "voice-ws", "health",
                      "generic"):  # fmt: skip
        fields = base_fields(route, ctx, rng)
        key = pick_field(fields, rng, ("form", "query"))
        fields[key] = "[" * depth
        name = key.split(":", 1)[1]
        if rng.random() < 0.5:
            nested = name + "".join(f"[{name}]" for _ in range(min(depth, 3000)))
            fields[f"{key.split(':', 1)[0]}:{nested}"] = "1"
        return Built(f"{depth} brackets in {key}", render(route, ctx, rng, fields))
    body = rng.choice([b"[" * depth, b'{"a":' * depth + b"1" + b"}" * depth,
                       b"[" * depth + b"]" * depth])  # fmt: skip
    return Built(f"{depth} nested", valid(route, ctx, rng, body=body))


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
    key = pick_field(fields, rng)
    fields[key] = bad if key.split(":", 1)[0] in ("path", "query", "form", "header", "xml") \
        else bad.decode("latin-1")  # fmt: skip
    req = render(route, ctx, rng, fields)
    if key.split(":", 1)[0] in ("json", "upd"):
        req.body = req.body.replace(dump_json(bad.decode("latin-1"))[1:-1].encode(), bad)
    return Built(f"in {key}", req)


def c_surrogates(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = pick_field(fields, rng, ("json", "upd", "xml", "form", "query", "header"))
    odd = rng.choice(SURROGATES + CONTROLS)
    value = rng.choice(["hello" + odd, odd, odd * 50, "我想" + odd + "订饭"])
    fields[key] = value
    label = "surrogate" if any(0xD800 <= ord(c) <= 0xDFFF for c in odd) else "control"
    return Built(f"{label} in {key}", render(route, ctx, rng, fields))


def c_long_string(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = pick_field(fields, rng)
    text = long_text(rng)
    if key.startswith(("path:", "query:", "header:")):
        text = text[: rng.choice([8_000, 50_000, 100_000])]
    fields[key] = text
    return Built(f"{len(text) // 1000}k chars in {key}",
                 render(route, ctx, rng, fields, Opts(ascii_json=False)))  # fmt: skip


def c_wrong_types(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = pick_field(fields, rng)
    old = fields[key]
    value = rng.choice([v for v in WRONG_TYPES if type(v) is not type(old)])
    if rng.random() < 0.15:  # or the field is not there at all
        del fields[key]
        return Built(f"{key} missing", render(route, ctx, rng, fields))
    fields[key] = value
    return Built(f"{type(value).__name__} in {key}", render(route, ctx, rng, fields))


def c_big_numbers(route: Route, ctx: Context, rng: random.Random) -> Built:
    fields = base_fields(route, ctx, rng)
    key = pick_field(fields, rng)
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
    req = valid(route, ctx, rng)
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
    req = valid(route, ctx, rng)
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
    else:  # a server may take a bare LF as a line's end, or wait for the CRLF that never comes
        req.raw = req.wire("127.0.0.1").replace(b"\r\n", b"\n")
        req.answer = OPTIONAL
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
    req = valid(route, ctx, rng)
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
        req = valid(route, ctx, rng, auth="none", extra_headers=extra)
        req.refuse = True
        return Built(variant, req)
    if k == "voice-register":
        variant, secret = rng.choice([("no-secret", None), ("wrong", b"wrong"), ("empty", b""),
                                      ("huge", b"s" * 10_000)])  # fmt: skip
        extra = [] if secret is None else [("X-Anxin-Secret", secret)]
        req = valid(route, ctx, rng, auth="none", extra_headers=extra)
        req.refuse = True
        return Built(variant, req)
    if k.startswith("staff"):
        return _staff_auth_odd(route, ctx, rng)
    variant = rng.choice(["no-token", "wrong-token", "odd-scheme", "token-in-query"])
    if variant == "no-token":
        req = valid(route, ctx, rng, auth="none")
    elif variant == "wrong-token":
        req = valid(route, ctx, rng, auth="wrong")
    elif variant == "odd-scheme":
        req = valid(route, ctx, rng, auth="none", extra_headers=[("Authorization", rng.choice(
            [b"Basic Zm9vOmJhcg==", b"Bearer", b"Bearer  ", b"bearer x y", b"Token abc",
             b"Bearer \xff\xfe"]))])  # fmt: skip
    else:
        req = valid(route, ctx, rng, auth="none")
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
    # unsigned, wrongly signed, stale or replayed: all refused (a second signature after the
    # valid one is not: the first is read)
    req.refuse = variant != "duplicated"
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
            body = "&".join(f"{n}={url_value(v)}" for n, v in pairs(fields, "form")).encode()
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
            body = "&".join(f"{n}={url_value(v)}" for n, v in pairs(fields, "form")).encode()
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
