"""Who is calling: caller numbers registered by the dialplan, and the elder behind one.

AudioSocket carries only the call's UUID. The dialplan therefore registers
``UUID → caller number`` over HTTP just before ``AudioSocket(…)`` (docs/telephony.md):
``POST /webhooks/voice/audiosocket/calls`` with ``uuid`` and ``caller`` (form-encoded, as
Asterisk's ``CURL()`` posts, or JSON) and the shared secret ``ANXIN_AUDIOSOCKET_SECRET``
in the ``X-Anxin-Secret`` header or a ``secret`` field. A registration is used by one
call and forgotten after ``ttl_s``.

The number becomes the conversation's sender on the ``voice`` channel, so it is the
person's voice identity: a number someone booked from before, or an elder's ``phone``
in their profile (the identity is then added, once), is that person; an unknown
number still gets the service, and becomes an elder when they book. A call with no
number (withheld, or not registered) is served under its UUID.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import urllib.parse
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from sqlalchemy import select

from care import models as m
from care.errors import InvalidRequest
from care.services import CareServices

log = logging.getLogger(__name__)

CHANNEL = "voice"
MAX_BODY = 4096
# What a caller id may look like once spaces and dashes are gone: an international
# "+" and 3-20 digits. Anything else (names, "anonymous", "unknown") is no number.
NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
WITHHELD = frozenset({"", "anonymous", "unknown", "unavailable", "private", "restricted"})


class BadRegistration(ValueError):
    """A registration we cannot read (HTTP 400); the text names no caller."""


def normalise(raw: str) -> Optional[str]:
    """A caller id as a number: separators dropped, ``00`` as ``+``; None when withheld.

    Raises BadRegistration for something that is neither a number nor withheld.
    """
    text = re.sub(r"[\s\-().]", "", raw.strip())
    if text.lower() in WITHHELD:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    if not NUMBER.match(text):
        raise BadRegistration("caller is not a phone number")
    return text


def same_number(number: str, country: str) -> str:
    """A number as its country's own subscribers dial it, so ``+86 138-0013-8000``,
    ``0086 13800138000`` and ``13800138000`` compare equal; other countries keep ``+``."""
    text = re.sub(r"[^0-9+]", "", number)
    if text.startswith("00"):
        text = "+" + text[2:]
    prefix = "+" + country
    if text.startswith(prefix):
        return text[len(prefix) :].lstrip("0")
    return text if text.startswith("+") else text.lstrip("0")


@dataclass(frozen=True)
class Registration:
    call: uuid.UUID
    number: Optional[str]  # None: withheld


def parse_registration(content_type: Optional[str], body: bytes) -> Registration:
    """The dialplan's request body: form-encoded or JSON ``uuid`` and ``caller``."""
    fields = _fields(content_type, body)
    try:
        call = uuid.UUID(str(fields.get("uuid", "")))
    except ValueError:
        raise BadRegistration("uuid is not a UUID") from None
    return Registration(call, normalise(str(fields.get("caller", ""))))


def secret_of(content_type: Optional[str], body: bytes, header: Optional[str]) -> str:
    if header:
        return header
    try:
        return str(_fields(content_type, body).get("secret", ""))
    except BadRegistration:
        return ""


def secret_ok(given: str, expected: Optional[str]) -> bool:
    """Constant-time check; with no secret configured nothing is accepted."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _fields(content_type: Optional[str], body: bytes) -> Mapping[str, Any]:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRegistration("body is not UTF-8") from None
    if kind == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            raise BadRegistration("body is not JSON") from None
        if not isinstance(data, dict):
            raise BadRegistration("body is not a JSON object")
        return data
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


class CallerRegistry:
    """Registrations waiting for their call, in this process; oldest dropped past ``limit``."""

    def __init__(self, ttl_s: float = 120.0, limit: int = 10_000) -> None:
        self.ttl_s, self.limit = ttl_s, limit
        self._waiting: OrderedDict[uuid.UUID, tuple[float, Optional[str]]] = OrderedDict()

    async def register(self, registration: Registration) -> None:
        self._expire()
        self._waiting.pop(registration.call, None)
        self._waiting[registration.call] = (time.monotonic() + self.ttl_s, registration.number)
        while len(self._waiting) > self.limit:
            self._waiting.popitem(last=False)

    async def take(self, call: uuid.UUID) -> Optional[str]:
        """The number registered for ``call`` (once), or None."""
        self._expire()
        entry = self._waiting.pop(call, None)
        return entry[1] if entry else None

    async def close(self) -> None:
        self._waiting.clear()

    def _expire(self) -> None:
        now = time.monotonic()
        while self._waiting:
            first = next(iter(self._waiting))
            if self._waiting[first][0] > now:
                break
            del self._waiting[first]


class RedisCallerRegistry(CallerRegistry):
    """The same in Redis, for several Rasa processes: the registration may reach one
    process and the call another (only one of them can listen on the port)."""

    def __init__(self, url: str, prefix: str = "anxin", ttl_s: float = 120.0) -> None:
        super().__init__(ttl_s)
        self._url = url
        self._prefix = f"{prefix}:audiosocket:"
        # Made on first use, in the process (and on the event loop) that uses it: the
        # channel is built before Sanic forks its workers.
        self._redis: Any = None

    def _client(self) -> Any:
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(self._url)
        return self._redis

    async def register(self, registration: Registration) -> None:
        # "" stands for a withheld number: the call is registered, its caller unknown.
        key = self._prefix + registration.call.hex
        await self._client().set(key, registration.number or "", ex=max(1, round(self.ttl_s)))

    async def take(self, call: uuid.UUID) -> Optional[str]:
        async with self._client().pipeline(transaction=True) as pipe:
            key = self._prefix + call.hex
            found, _ = await pipe.get(key).delete(key).execute()
        return (found.decode("utf-8") or None) if found is not None else None

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close()
            self._redis = None


def registry_for(redis_url: Optional[str], prefix: str) -> CallerRegistry:
    return RedisCallerRegistry(redis_url, prefix) if redis_url else CallerRegistry()


@dataclass(frozen=True)
class Caller:
    sender: str  # the conversation's sender id on the voice channel
    name: Optional[str] = None  # a known person's name, to greet them by
    language: Optional[str] = None  # their preferred language


def identify(care: CareServices, call: uuid.UUID, number: Optional[str], country: str) -> Caller:
    """The caller of ``call`` (blocking: database reads; run it in a thread)."""
    if number is None:
        return Caller(sender=f"as-{call.hex}")
    person = care.people.find_by_identity(CHANNEL, number)
    if person is None:
        # Profiles keep numbers as staff typed them (spaces, dashes, with or without +86),
        # so they are compared in one form; a centre has thousands of elders at most.
        wanted = same_number(number, country)
        with care.db.read() as s:
            rows = s.execute(
                select(m.Person.id, m.Person.phone)
                .where(m.Person.kind == "elder", m.Person.phone.isnot(None))
                .order_by(m.Person.id)
            ).all()
        found = next((id_ for id_, phone in rows if same_number(phone, country) == wanted), None)
        if found is not None:
            try:  # from now on the number is theirs on the voice channel
                care.people.add_identity(found, CHANNEL, number)
            except InvalidRequest:
                pass  # registered a moment ago by a call at the same time
            person = care.people.find_by_identity(CHANNEL, number)
    if person is None:
        return Caller(sender=number)
    return Caller(sender=number, name=person.name, language=person.preferred_language)
