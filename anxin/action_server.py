"""Start rasa-sdk's action server with the care services built once, up front."""

from __future__ import annotations

import logging
import os

from anxin.config import RunSettings
from care.config import CareSettings

log = logging.getLogger(__name__)

ACTION_SERVER_KEEP_ALIVE_S = 75


def serve(run: RunSettings, care_settings: CareSettings) -> None:
    from rasa_sdk.endpoint import run as run_sdk

    from actions import runtime
    from care.conversation_retention import Purger as ConversationPurger
    from care.recordings_purge import Purger
    from care.services import build

    # rasa-sdk says "Action endpoint is up and running" at INFO: operators want to see it.
    logging.getLogger().setLevel(os.environ.get("ANXIN_LOG_LEVEL", "INFO"))
    care = build(care_settings)
    runtime.install(care)
    Purger(care.db, clock=care.clock).start()  # voice recordings past their retention go
    ConversationPurger(care.db, clock=care.clock).start()  # and conversations idle past theirs
    os.environ["SANIC_HOST"] = run.bind  # rasa-sdk reads its interface from here
    # Rasa keeps its connections here open (anxin/rasa_server.py) and drops them
    # after 2 s idle. The server must not drop them first: after a pause (a stopped
    # or starved process) Sanic's overdue keep-alive timer fired before it read the
    # request already waiting on the socket, and reset the connection under it.
    os.environ["SANIC_KEEP_ALIVE_TIMEOUT"] = str(ACTION_SERVER_KEEP_ALIVE_S)
    run_sdk("actions", port=run.actions_port)
