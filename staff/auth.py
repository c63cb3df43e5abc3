"""Who may do what: sessions and tokens to a ``Principal``, roles and CSRF checked per route.

Every route names the roles it allows through ``allow(...)``; nothing is decided
in templates. Browsers authenticate with the session cookie only; the
``Authorization: Bearer`` header is honoured on ``/api/`` only, so an API token
can never drive the form pages (which rely on CSRF tokens tied to a session).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from fastapi import Depends, Request

from care import audit
from care.conversation_log import ConversationLog, low_confidence_threshold
from care.services import CareServices
from care.staff_sessions import Principal, StaffSessions
from care.staff_users import StaffUsers
from care.staff_views import StaffViews
from staff.config import StaffSettings

log = logging.getLogger(__name__)

SESSION_COOKIE = "anxin_staff"
LOGIN_CSRF_COOKIE = "anxin_login_csrf"
ALL = ("admin", "staff", "volunteer")
STAFF = ("admin", "staff")
ADMIN = ("admin",)


class SeenByPoll:
    """What each viewer's alerts poll last showed, and when that was audited.

    The alerts page asks for the open alerts every few seconds (``/alerts/live``). An
    audit row per poll would be 720 rows an hour per open screen, burying the views a
    reviewer looks for. A row is written instead when what a viewer is shown changes
    (an alert raised, taken, resolved), and again every ``REPEAT`` while the same
    screen stays open: the log still says who could see which alert, and from when.
    Kept per console process (a second process audits its own first poll again).
    """

    REPEAT = timedelta(minutes=10)
    VIEWERS = 1000  # memory bound: the longest-quiet viewer is forgotten first

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    def news(self, viewer: str, shown: Any, now: datetime) -> bool:
        """True when this poll should be audited (and is noted as audited)."""
        digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            before = self._last.get(viewer)
            if before and before[0] == digest and now - before[1] < self.REPEAT:
                return False
            self._last[viewer] = (digest, now)
            self._last.move_to_end(viewer)
            while len(self._last) > self.VIEWERS:
                self._last.popitem(last=False)
            return True


class LoginRequired(Exception):
    """No valid session or token: the login page for a browser, 401 for the API."""


class Forbidden(Exception):
    """Authenticated, but this role (or this request without its CSRF token) may not."""


@dataclass
class Console:
    """Everything a request handler needs, built once per app by ``staff.app.create_app``."""

    care: CareServices
    settings: StaffSettings
    users: StaffUsers
    sessions: StaffSessions
    views: StaffViews
    conversations: ConversationLog
    polls: SeenByPoll = field(default_factory=SeenByPoll)

    @classmethod
    def of(cls, care: CareServices, settings: StaffSettings) -> Console:
        return cls(
            care=care,
            settings=settings,
            users=StaffUsers(care.db, care.clock, settings.throttle),
            sessions=StaffSessions(care.db, care.clock, settings.session_lifetime),
            views=StaffViews(care.db),
            conversations=ConversationLog(care.db, care.tz, low_confidence_threshold()),
        )

    def audit(
        self,
        who: Principal,
        action: str,
        subject: str,
        detail: Optional[dict[str, Any]] = None,
    ) -> None:
        """One audit row (who, what, when) in its own transaction, before the data is sent."""
        with self.care.db.write() as s:
            audit.record(s, self.care.clock(), who.actor, action, subject, detail=detail)

    def today(self) -> Any:
        return self.care.clock().astimezone(self.care.tz).date()


def console(request: Request) -> Console:
    return request.app.state.console


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def current(request: Request, c: Console = Depends(console)) -> Principal:
    if is_api(request):
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            found = (
                c.sessions.token_principal(value.strip()) if scheme.lower() == "bearer" else None
            )
            if found is None:
                raise LoginRequired()
            return found
    found = c.sessions.lookup(request.cookies.get(SESSION_COOKIE, ""))
    if found is None:
        raise LoginRequired()
    return found


def allow(*roles: str) -> Callable[..., Principal]:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    def check(who: Principal = Depends(current)) -> Principal:
        if who.role not in roles:
            log.info("staff console: role %s refused", who.role)
            raise Forbidden()
        return who

    return check


def same_token(sent: object, expected: Optional[str]) -> bool:
    return (
        isinstance(sent, str)
        and bool(expected)
        and hmac.compare_digest(sent.encode(), str(expected).encode())
    )


def posted_by(*roles: str) -> Callable[..., Any]:
    """For form posts: the role check plus the session's CSRF token in the form."""

    async def check(request: Request, who: Principal = Depends(allow(*roles))) -> Principal:
        form = await request.form()
        if who.via != "session" or not same_token(form.get("csrf_token"), who.csrf_token):
            log.warning("staff console: form post without a valid CSRF token refused")
            raise Forbidden()
        return who

    return check


def api_csrf(request: Request, who: Principal) -> None:
    """For API changes: a browser session must also send its CSRF token in ``X-CSRF-Token``
    (a token holder has no session to ride on)."""
    if who.via == "session" and not same_token(request.headers.get("x-csrf-token"), who.csrf_token):
        log.warning("staff API: session post without a valid CSRF token refused")
        raise Forbidden()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
