"""Start rasa-sdk's action server with the care services built once, up front.

The server answers only Rasa: every route but ``/health`` needs ``Authorization: Bearer
<ANXIN_ACTION_TOKEN>`` (Rasa sends it from bot/endpoints.yml; ``anxin run`` makes one
per run when the operator set none), else 401 — an action speaks for whichever sender
its request names, e.g. ``action_list_bookings``. rasa-sdk 3.6 has no token option of
its own, so its app gets a request middleware here. It listens on ``ANXIN_ACTIONS_BIND``
(this machine by default, whatever ``ANXIN_BIND`` is), where Rasa's endpoint URL points.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sanic import Sanic, response
from sanic.request import Request

from anxin.config import RunSettings
from care.config import CareSettings
from channels.caller_auth import bearer, same

log = logging.getLogger(__name__)

ACTION_SERVER_KEEP_ALIVE_S = 75
OPEN_PATHS = ("/health",)  # the channels ask it whether the action server is up


def require_token(app: Sanic, token: str) -> None:
    """Refuse every request without ``token`` (but the health check) with a 401."""

    @app.middleware("request")
    async def action_token(request: Request) -> Any:
        if request.path in OPEN_PATHS:
            return None
        if same(bearer(request.headers.get("authorization")), token):
            return None
        log.warning("action server: a request without the action token refused")
        return response.json(
            {"error": "Authorization: Bearer <ANXIN_ACTION_TOKEN> is required"}, status=401
        )


def serve(run: RunSettings, care_settings: CareSettings) -> None:
    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    from actions import runtime
    from anxin import http_guard
    from care.conversation_retention import Purger as ConversationPurger
    from care.recordings_purge import Purger
    from care.safety import CheckWatch
    from care.services import build

    # rasa-sdk says "Action endpoint is up and running" at INFO: operators want to see it.
    logging.getLogger().setLevel(os.environ.get("ANXIN_LOG_LEVEL", "INFO"))
    care = build(care_settings)
    runtime.install(care)
    Purger(care.db, clock=care.clock).start()  # voice recordings past their retention go
    ConversationPurger(care.db, clock=care.clock).start()  # and conversations idle past theirs
    CheckWatch(care.safety).start()  # possible dangers nobody answered become alarms
    # Sanic 21.12 under rasa-sdk: a malformed request head is a 4xx, not a frozen or
    # crashed server, and Sanic's own 4xx are not turned into 500s (anxin/http_guard.py).
    http_guard.install_action_server()
    # Rasa keeps its connections here open (anxin/rasa_server.py) and drops them
    # after 2 s idle. The server must not drop them first: after a pause (a stopped
    # or starved process) Sanic's overdue keep-alive timer fired before it read the
    # request already waiting on the socket, and reset the connection under it.
    # Sanic reads it from the environment when the app is made.
    os.environ["SANIC_KEEP_ALIVE_TIMEOUT"] = str(ACTION_SERVER_KEEP_ALIVE_S)
    # rasa_sdk.endpoint.run, with the token required.
    app = create_app("actions")
    require_token(app, run.action_token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    log.info("Action endpoint is up and running on http://%s:%d", run.actions_bind,
             run.actions_port)  # fmt: skip
    app.run(run.actions_bind, run.actions_port, workers=utils.number_of_sanic_workers())
