"""Who may call the REST and voice routes: an integration holding ``ANXIN_REST_TOKEN``.

These routes take a sender id from the request (REST's ``sender``, voice's
``X-Anxin-Sender`` / ``?sender=``), so whoever reaches them speaks for that sender on
their channel. With ``ANXIN_REST_TOKEN`` set, every call must carry it —
``Authorization: Bearer <token>``, or ``?token=`` on a WebSocket upgrade, since
browsers cannot set headers there — compared in constant time: 401 otherwise. Without
a token (local development, ``make run``), only clients on this machine are answered
(the peer's address, not a forwarded header): 403 for others, and ``anxin run``
refuses a non-local ``ANXIN_BIND`` without a token (anxin/stack.py).

A blueprint's health check stays open, and so does what has its own secret (the
dialplan's caller registration, ANXIN_AUDIOSOCKET_SECRET).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

TOKEN_ENV = "ANXIN_REST_TOKEN"


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str


UNAUTHENTICATED = Refusal(
    401, f"a valid token is needed: Authorization: Bearer <token> ({TOKEN_ENV})"
)
NOT_LOCAL = Refusal(
    403, f"this route answers only this machine until {TOKEN_ENV} is set on the server"
)


def token_from_env(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    env = os.environ if environ is None else environ
    return env.get(TOKEN_ENV) or None


def is_loopback(address: Optional[str]) -> bool:
    """Whether a peer address is this machine (127.0.0.0/8, ::1, or v4 in v6 of those)."""
    try:
        ip = ipaddress.ip_address((address or "").strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def bearer(authorization: Optional[str]) -> Optional[str]:
    """The token of an ``Authorization: Bearer <token>`` header, if that is what it is."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def same(given: Optional[str], expected: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def refusal(
    expected: Optional[str],
    authorization: Optional[str],
    query_token: Optional[str],
    peer: Optional[str],
    websocket: bool = False,
) -> Optional[Refusal]:
    """Why a call is refused, or None when it may go on (pure: the rule itself)."""
    if expected is None:
        return None if is_loopback(peer) else NOT_LOCAL
    given = bearer(authorization)
    if given is None and websocket:
        given = query_token
    return None if same(given, expected) else UNAUTHENTICATED


def _is_websocket(request: Request) -> bool:
    return "websocket" in (request.headers.get("upgrade") or "").lower()


def check(request: Request, expected: Optional[str]) -> Optional[HTTPResponse]:
    """The answer that refuses this request, or None when it may go on."""
    refused = refusal(
        expected,
        request.headers.get("authorization"),
        request.args.get("token"),
        request.ip,
        _is_websocket(request),
    )
    if refused is None:
        return None
    log.info("%s refused: HTTP %d", request.path, refused.status)  # no sender, no token
    return response.json({"error": refused.error}, status=refused.status)


def protect(
    bp: Blueprint, token: Optional[str], open_handlers: tuple[str, ...] = ("health",)
) -> None:
    """Check every request to ``bp``'s routes but the handlers named in ``open_handlers``."""

    @bp.middleware("request")
    async def caller_auth(request: Request) -> Any:
        route = getattr(request, "route", None)
        handler = (route.name if route is not None else "").rsplit(".", 1)[-1]
        if handler in open_handlers:
            return None
        return check(request, token)
