"""Which of Rasa's HTTP API routes Anxin serves, and what each may be sent (pure).

Rasa 3.6's API has twenty routes; Anxin uses five: the health routes (``/``,
``/version``, ``/status``), reading a conversation (``GET …/tracker``: the stack tests,
an operator's debugging), writing a staff reply into it (``POST …/tracker/events``,
staff/rasa_log.py) and ``/model/parse`` (how the NLU reads one sentence). The rest —
replacing or training the model, running actions, triggering intents, rewriting a
tracker — are admin powers no part of Anxin needs, and each was a 500 for some odd input
(a list of entities, a story that fails to export, a boolean text). They answer 404
"not served by Anxin", whoever asks. The channels under ``/webhooks/`` check their own
requests and pass through.

The routes kept are checked strictly before Rasa's handler runs: a query parameter Rasa
does not read, a value it would choke on, a body that is not exactly what the route takes
(``/model/parse``: ``{"text": …}``; the events route: a staff reply, ``{"event": "bot",
"text": …}``, or a short list of them) is 400 with the reason. Texts are bounded by the
message limit (channels/limits.py), so no request holds a worker for long.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import parse_qsl

from channels.limits import BadBody, json_value, message_limit

# A conversation id is a channel's sender id with its prefix (care/senders.py): 200 at most.
MAX_CONVERSATION_ID = 200
MAX_EVENTS = 20  # a staff reply is one event; a few lines of one at most
MAX_MESSAGE_ID = 128
LATEST_TIMESTAMP = 4_102_444_800.0  # 2100-01-01: Rasa turns timestamps into datetimes

VERBOSITY = ("ALL", "APPLIED", "AFTER_RESTART", "NONE")  # rasa.shared.core.trackers
EMULATION = ("WIT", "LUIS", "DIALOGFLOW")  # rasa.core.channels / nlu emulators
BOOLEAN = ("true", "false")

TRACKER = re.compile(r"/conversations/(?P<id>.+)/tracker")
EVENTS = re.compile(r"/conversations/(?P<id>.+)/tracker/events")


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    reason: str = "BadRequest"

    def body(self) -> dict[str, Any]:
        """Rasa's own error shape, so that a client reads both the same way."""
        return {"status": "failure", "reason": self.reason, "message": self.message,
                "code": self.status}  # fmt: skip


NOT_SERVED = Refusal(404, "not served by Anxin", "NotFound")


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    queries: tuple[str, ...] = ()  # parameters besides ``token``


ROUTES = {
    "/": Route("hello", "GET"),
    "/version": Route("version", "GET"),
    "/status": Route("status", "GET"),
    "/model/parse": Route("parse", "POST", ("emulation_mode",)),
}
TRACKER_ROUTE = Route("tracker", "GET", ("include_events", "until"))
EVENTS_ROUTE = Route("events", "POST", ("include_events", "execute_side_effects"))


def route_of(path: str) -> tuple[Optional[Route], str]:
    """The served route a path names (None if none) and its conversation id ("" if none)."""
    if path in ROUTES:
        return ROUTES[path], ""
    for pattern, route in ((EVENTS, EVENTS_ROUTE), (TRACKER, TRACKER_ROUTE)):
        found = pattern.fullmatch(path)
        if found:
            return route, found.group("id")
    return None, ""


def problem(method: str, path: str, query: str, body: bytes) -> Optional[Refusal]:
    """Why Rasa's API must not run this request (404, 405 or 400), or None to let it."""
    if path.startswith("/webhooks/"):
        return None  # the channels check their own requests
    if len(path) > 1:
        path = path.rstrip("/")
    route, conversation = route_of(path)
    if route is None:
        return NOT_SERVED
    if method == "OPTIONS":
        return None  # CORS preflight: Rasa answers it without running the route
    if method != route.method:
        return Refusal(405, f"{path} takes {route.method} only", "MethodNotAllowed")
    if conversation and not _conversation_ok(conversation):
        return Refusal(400, f"a conversation id is 1 to {MAX_CONVERSATION_ID} printable "
                            "characters")  # fmt: skip
    bad = _query_problem(query, route)
    if bad is not None:
        return Refusal(400, bad)
    if route.method != "POST":
        return None
    try:
        data = json_value(body) if body else None
    except BadBody as exc:
        return Refusal(400, exc.reason)
    bad = _parse_problem(data) if route.name == "parse" else _events_problem(data)
    return None if bad is None else Refusal(400, bad)


def _conversation_ok(conversation: str) -> bool:
    return len(conversation) <= MAX_CONVERSATION_ID and conversation.isprintable()


def _query_problem(query: str, route: Route) -> Optional[str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query),
                          errors="strict", max_num_fields=8)  # fmt: skip
    except (ValueError, UnicodeError):
        return "the query string is not well formed"
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        return "a query parameter is given twice"
    for name, value in pairs:
        if name == "token":
            continue
        if name not in route.queries:
            return f"{route.name} takes no query parameter {name!r:.40}"
        if name == "include_events" and value.upper() not in VERBOSITY:
            return f"include_events is one of {', '.join(VERBOSITY)}"
        if name == "emulation_mode" and value.upper() not in EMULATION:
            return f"emulation_mode is one of {', '.join(EMULATION).lower()}"
        if name == "execute_side_effects" and value.lower() not in BOOLEAN:
            return "execute_side_effects is true or false"
        if name == "until" and not _timestamp_ok(value):
            return "until is a time in seconds since 1970"
    return None


def _timestamp_ok(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and 0 <= value <= LATEST_TIMESTAMP


def _text_problem(text: Any, where: str) -> Optional[str]:
    if not isinstance(text, str):
        return f"{where} must be a string"
    if len(text) > message_limit():
        return f"{where} is over {message_limit()} characters"
    return None


def _parse_problem(data: Any) -> Optional[str]:
    if not isinstance(data, dict):
        return 'the body must be a JSON object: {"text": "…"}'
    extra = set(data) - {"text", "message_id"}
    if extra:
        return f"/model/parse takes text and message_id only, not {sorted(extra)[0]!r:.40}"
    if "text" not in data:
        return "text is required"
    message_id = data.get("message_id")
    if message_id is not None and not (
        isinstance(message_id, str) and len(message_id) <= MAX_MESSAGE_ID
    ):
        return f"message_id is a string of at most {MAX_MESSAGE_ID} characters"
    return _text_problem(data["text"], "text")


# The one event the API takes: a reply in the bot's voice (a staff member's, with who in
# its metadata). Rasa's event schema lets through what its handlers then fail on (a
# `reminder` with no name, a `user` event with a list as its text's parse data).
BOT_FIELDS = {"event", "text", "metadata", "timestamp", "data"}


def _events_problem(data: Any) -> Optional[str]:
    events = data if isinstance(data, list) else [data]
    if not 1 <= len(events) <= MAX_EVENTS:
        return f"post 1 to {MAX_EVENTS} events"
    for event in events:
        bad = _event_problem(event)
        if bad is not None:
            return bad
    return None


def _event_problem(event: Any) -> Optional[str]:
    if not isinstance(event, dict):
        return 'an event is a JSON object: {"event": "bot", "text": "…"}'
    if event.get("event") != "bot":
        return 'Anxin takes bot events only here: {"event": "bot", "text": "…"}'
    extra = set(event) - BOT_FIELDS
    if extra:
        return f"a bot event has no field {sorted(extra)[0]!r:.40}"
    bad = _text_problem(event.get("text"), "the event's text")
    if bad is not None:
        return bad
    for name in ("metadata", "data"):
        if event.get(name) is not None and not isinstance(event[name], dict):
            return f"the event's {name} must be an object"
    if event.get("timestamp") is not None and not _timestamp_ok(event["timestamp"]):
        return "the event's timestamp is a time in seconds since 1970"
    return None
