"""Settings of the care domain, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Mapping, Optional

from care.clock import offset_from_env

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CareSettings:
    db_url: str
    timezone: str = "Asia/Shanghai"
    ambulance: str = "120"
    crisis_hotline: str = "12356"
    centre_hotline: str = "12349"
    # When staff answer hand-offs in person ("mon-fri 08:00-17:30"): outside them,
    # people are told when someone will call back.
    staff_hours: str = "mon-fri 08:00-17:30"
    # How far this stack's clock runs from the real one (ANXIN_NOW, care/clock.py);
    # None (the default) is the real clock.
    clock_offset: Optional[timedelta] = None
    # A possible danger asked about ("did you hurt yourself?") escalates to the full alarm
    # when nobody answers within this many seconds (ANXIN_SAFETY_CHECK_S).
    safety_check_s: float = 180.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> CareSettings:
        env = os.environ if environ is None else environ
        timezone = env.get("ANXIN_TIMEZONE", "Asia/Shanghai")
        try:
            clock_offset = offset_from_env(env, timezone)
        except ValueError as exc:
            raise SystemExit(f"anxin: {exc}") from None
        var_dir = Path(env.get("ANXIN_VAR_DIR", REPO_ROOT / "var"))
        return cls(
            db_url=env.get("ANXIN_DB_URL") or f"sqlite:///{var_dir / 'anxin.db'}",
            timezone=timezone,
            ambulance=env.get("ANXIN_AMBULANCE_NUMBER", "120"),
            crisis_hotline=env.get("ANXIN_CRISIS_HOTLINE", "12356"),
            centre_hotline=env.get("ANXIN_CENTRE_HOTLINE", "12349"),
            staff_hours=env.get("ANXIN_STAFF_HOURS", "mon-fri 08:00-17:30"),
            clock_offset=clock_offset,
            safety_check_s=_seconds(env, "ANXIN_SAFETY_CHECK_S", 180.0),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"anxin: {name} must be a number of seconds, not {raw!r}") from None
    if not 1 <= value <= 3600:
        raise SystemExit(f"anxin: {name} must be between 1 and 3600 seconds")
    return value
