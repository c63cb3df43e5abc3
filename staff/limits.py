"""Bounds on what a request may carry, checked once for every route before it runs.

A client's mistake must get a 4xx that says what was wrong, never a 500: so the
console refuses, in one place (``RequestLimits``, an ASGI middleware), what no route
can use — a path, query string or header block beyond a few kilobytes, a body beyond
``MAX_BODY`` (read to its end first, up to ``DRAIN_MAX``, so that the 413 is not lost in
a reset connection) or slower than ``READ_S`` to arrive, text that is not UTF-8 or
carries NUL characters (PostgreSQL cannot store them), forms sent as multipart (the
console's forms are urlencoded), and JSON nested deeper than ``MAX_JSON_DEPTH`` (Python's
parser recurses: 50,000 ``[`` were a RecursionError) or holding numbers no database
column can keep.

Record ids in paths are ``RecordId``: a whole number from 1 to 2⁶³−1 (the largest a
database integer holds), so ``/api/bookings/9223372036854775808`` is a 404, not an
``OverflowError``; form fields carrying an id go through ``record_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from typing import Any, Awaitable, Callable, MutableMapping, Optional
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi import Path
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import Annotated

log = logging.getLogger(__name__)

INT64_MAX = 2**63 - 1
MAX_BODY = 64 * 1024  # a staff reply of 1,000 Chinese characters is 9 kB urlencoded
MAX_PATH = 2048
MAX_QUERY = 4096
MAX_HEADERS = 16 * 1024
MAX_FIELDS = 64  # form or query fields in one request
MAX_JSON_DEPTH = 32
# A body over MAX_BODY is still read, up to this, so that the 413 reaches the client.
DRAIN_MAX = 16 * 1024 * 1024
READ_S = 15.0  # for the whole body (64 kB in 8 s on a 64 kbit/s line): no trickle holds a request

RecordId = Annotated[int, Path(ge=1, le=INT64_MAX)]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

DIGITS = re.compile(r"[0-9]{1,19}")
# Tokens of JSON text that matter for nesting: whole strings (skipped), brackets, and a
# quote that opens a string never closed (which ends the scan: the text is not JSON).
JSON_TOKENS = re.compile(r'"(?:[^"\\]+|\\.)*"|[\[\]{}]|"', re.DOTALL)
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class BadInput(Exception):
    """What was wrong with a request, in words safe to show (never the data itself)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def record_id(text: str) -> Optional[int]:
    """A form field's record id (ASCII digits, 1 .. 2⁶³−1), or None."""
    text = text.strip()
    if not DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= INT64_MAX else None


def _clean_text(value: str, where: str) -> None:
    if BAD_TEXT.search(value):
        raise BadInput(f"{where} holds a character that cannot be stored")


def parse_json(body: bytes) -> Any:
    """JSON from a request body, bounded in depth and checked before any route sees it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the body must be UTF-8 JSON") from None
    depth = 0
    for token in JSON_TOKENS.finditer(text):
        mark = token.group()
        if mark in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise BadInput(f"the JSON body is nested more than {MAX_JSON_DEPTH} deep")
        elif mark in ("]", "}"):
            depth -= 1
        elif mark == '"':
            raise BadInput("the body must be JSON")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadInput("the body must be JSON") from None
    _check_json(value)
    return value


def _check_json(value: Any) -> None:
    # Depth is already bounded, so recursing here is safe.
    if isinstance(value, dict):
        for key, item in value.items():
            _clean_text(key, "the JSON body")
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)
    elif isinstance(value, str):
        _clean_text(value, "the JSON body")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise BadInput("a number in the JSON body is out of range")
    elif isinstance(value, float) and not math.isfinite(value):
        raise BadInput("a number in the JSON body is out of range")


def _check_fields(raw: bytes, where: str) -> None:
    """A query string or urlencoded form: UTF-8 throughout, a bounded number of fields."""
    try:
        fields = parse_qsl(
            raw.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeError:
        raise BadInput(f"the {where} must be UTF-8, percent-encoded") from None
    except ValueError:
        raise BadInput(f"the {where} has more than {MAX_FIELDS} fields") from None
    for name, value in fields:
        _clean_text(name, f"the {where}")
        _clean_text(value, f"the {where}")


def _check_target(scope: Scope) -> None:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    query: bytes = scope.get("query_string", b"")
    if len(raw_path) > MAX_PATH:
        raise BadInput(f"the address is longer than {MAX_PATH} characters", 414)
    if len(query) > MAX_QUERY:
        raise BadInput(f"the query string is longer than {MAX_QUERY} characters", 414)
    if sum(len(k) + len(v) for k, v in scope.get("headers", [])) > MAX_HEADERS:
        raise BadInput("the request headers are too large", 431)
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the address must be UTF-8, percent-encoded") from None
    _clean_text(path, "the address")
    if query:
        _check_fields(query, "query string")


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def _declared_length(scope: Scope) -> Optional[int]:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def _check_body(scope: Scope, body: bytes) -> None:
    kind = _content_type(scope)
    if kind == "application/x-www-form-urlencoded":
        _check_fields(body, "form")
    elif kind.startswith("multipart/"):
        raise BadInput("forms are sent as application/x-www-form-urlencoded", 415)
    elif scope["path"].startswith("/api/"):
        # The API reads any body as JSON, whatever its declared type.
        parse_json(body)


class RequestLimits:
    """Refuses a request no route can use (see the module's docstring), before routing.

    The body is read here, at most ``MAX_BODY`` bytes, and handed on unchanged."""

    def __init__(self, app: App, answer: Callable[[Request, BadInput], Response]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_target(scope)
            body, disconnected = await _read_body(receive, _declared_length(scope))
            if disconnected:
                return
            if body:
                _check_body(scope, body)
        except BadInput as exc:
            # Counts and reasons only: the request's text may be personal data.
            log.info("staff console: request refused (%s): %s", exc.status, exc)
            await self.answer(Request(scope), exc)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive, declared: Optional[int]) -> tuple[bytes, bool]:
    """The body, at most ``MAX_BODY`` bytes, read within ``READ_S`` seconds.

    A larger one is read to its end (up to ``DRAIN_MAX`` bytes) and thrown away before the
    413: closing a connection while the client is still sending makes the kernel reset it,
    and the client then never reads the answer (a 1 MB form was a dropped connection)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_S
    too_large = BadInput(f"the body is larger than {MAX_BODY // 1024} kB", 413)
    if declared is not None and declared > DRAIN_MAX:
        raise too_large  # not worth reading: the connection is closed after the answer
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise BadInput(f"the body did not arrive within {READ_S:.0f} s", 408) from None
        if message["type"] == "http.disconnect":
            return b"", True
        chunk = message.get("body", b"")
        more = bool(message.get("more_body", False))
        size += len(chunk)
        if size > DRAIN_MAX:
            raise too_large
        if size <= MAX_BODY and (declared is None or declared <= MAX_BODY):
            chunks.append(chunk)
    if size > MAX_BODY or (declared is not None and declared > MAX_BODY):
        raise too_large
    return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the client to go away

    return again


def json_refusal(exc: BadInput) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)
