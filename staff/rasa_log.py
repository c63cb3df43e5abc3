"""Writing a staff reply into the conversation itself: Rasa's own tracker, over its HTTP API.

The BotUttered event then flows through the event broker into the ``events`` table like
every other reply, so the console never keeps a second log of what was said.
"""

from __future__ import annotations

import logging
from typing import Optional
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0  # Rasa answers this under its conversation lock, behind a running turn


class RasaUnavailable(Exception):
    """Rasa did not take the event; nothing was recorded."""


def append_staff_reply(
    rasa_url: str, token: Optional[str], conversation_id: str, text: str, staff: str
) -> None:
    # Rasa's route does not unquote its path: a sender id's ":" (telegram:123) and a
    # caller's "+" go as they are, or Rasa would write to another conversation.
    path = quote(conversation_id, safe=":+@")
    url = f"{rasa_url.rstrip('/')}/conversations/{path}/tracker/events"
    event = {"event": "bot", "text": text, "metadata": {"staff": staff}}
    params = {"token": token} if token else {}
    try:
        response = httpx.post(url, json=event, params=params, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        log.warning("Rasa unreachable for a staff reply: %s", type(exc).__name__)
        raise RasaUnavailable() from exc
    if response.status_code != 200:
        # The body may echo the conversation; the status is enough to act on.
        log.warning("Rasa refused a staff reply: HTTP %s", response.status_code)
        raise RasaUnavailable()
