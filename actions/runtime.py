"""The care services of this action-server process, installed once at start-up.

rasa-sdk instantiates actions without arguments, so the factory's result is
handed over here by ``anxin actions`` before the server starts, never at import.
"""

from __future__ import annotations

from typing import Optional

from care.services import CareServices

_services: Optional[CareServices] = None


def install(services: CareServices) -> None:
    global _services
    _services = services


def services() -> CareServices:
    if _services is None:
        raise RuntimeError("care services are not installed; start with `anxin actions`")
    return _services
