"""Start rasa-sdk's action server with the care services built once, up front."""

from __future__ import annotations

import logging
import os

from anxin.config import RunSettings
from care.config import CareSettings

log = logging.getLogger(__name__)


def serve(run: RunSettings, care_settings: CareSettings) -> None:
    from rasa_sdk.endpoint import run as run_sdk

    from actions import runtime
    from care.services import build

    # rasa-sdk says "Action endpoint is up and running" at INFO: operators want to see it.
    logging.getLogger().setLevel(os.environ.get("ANXIN_LOG_LEVEL", "INFO"))
    runtime.install(build(care_settings))
    os.environ["SANIC_HOST"] = run.bind  # rasa-sdk reads its interface from here
    run_sdk("actions", port=run.actions_port)
