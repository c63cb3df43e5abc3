"""Rasa's HTTP API as the stack tests call it: always with its token.

``anxin run`` gives Rasa's API a token on every address (made per run when
ANXIN_RASA_TOKEN is unset); the test stacks set ``RASA_TOKEN`` so the tests can read
trackers and the status the way the staff console does.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

RASA_TOKEN = "anxin-tests-rasa-api-token"


def api_url(port: int, path: str, token: str = RASA_TOKEN) -> str:
    return f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode({'token': token})}"


def tracker_events(port: int, conversation_id: str) -> list[dict[str, Any]]:
    """The events of one conversation; ``conversation_id`` is Rasa's (``telegram:123``)."""
    # Rasa's route does not unquote its path: the id's ":" and "+" go as they are.
    path = f"/conversations/{urllib.parse.quote(conversation_id, safe=':+@')}/tracker"
    with urllib.request.urlopen(api_url(port, path), timeout=30) as resp:
        return list(json.loads(resp.read())["events"])
