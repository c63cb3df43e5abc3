"""Settings of the staff console, read from the environment once at start-up.

There is no signing secret to configure: sessions are random tokens kept (hashed)
in the database. Defaults are safe for one machine: bound to 127.0.0.1, cookies
without ``Secure`` only because plain http://127.0.0.1 would otherwise drop them.
Bound to any other address (``ANXIN_STAFF_HOST``, else ``ANXIN_BIND``) the console
refuses to start unless ``ANXIN_STAFF_SECURE_COOKIES=1`` (it is then behind HTTPS).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Optional

from care.staff_users import ThrottleRules


def _flag(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class UnsafeExposure(ValueError):
    """The console would hand session cookies without ``Secure`` beyond this machine."""


def loopback(host: str) -> bool:
    """True only for an address no other machine can reach (127.0.0.0/8, ::1, localhost).

    Anything else counts as exposed: 0.0.0.0, ::, a LAN address, or a host name, which
    may resolve to anything.
    """
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def console_host(env: Mapping[str, str]) -> str:
    # Same interface as the other services unless the console is set apart.
    return env.get("ANXIN_STAFF_HOST") or env.get("ANXIN_BIND") or "127.0.0.1"


def exposure_problem(host: str, secure_cookies: bool) -> Optional[str]:
    """Why the console must not start on ``host``, or None when it may."""
    if secure_cookies or loopback(host):
        return None
    return (
        f"the staff console would listen on {host}, beyond this machine, with session "
        "cookies a browser also sends over plain HTTP: serve it behind HTTPS and set "
        "ANXIN_STAFF_SECURE_COOKIES=1 (or bind it to 127.0.0.1 with ANXIN_STAFF_HOST)"
    )


def check_exposure(env: Mapping[str, str]) -> None:
    """``UnsafeExposure`` when the environment would serve the console insecurely."""
    problem = exposure_problem(console_host(env), _flag(env.get("ANXIN_STAFF_SECURE_COOKIES")))
    if problem:
        raise UnsafeExposure(problem)


@dataclass(frozen=True)
class StaffSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Set behind HTTPS (ANXIN_STAFF_SECURE_COOKIES=1): browsers then send the cookie
    # over HTTPS only.
    secure_cookies: bool = False
    session_hours: float = 8.0
    max_failures_per_username: int = 5
    max_failures_per_address: int = 20
    throttle_minutes: float = 15.0
    access_log: bool = False
    # Behind a reverse proxy on this machine: take the client address (for the login
    # throttle) from X-Forwarded-For, which uvicorn trusts from 127.0.0.1 only.
    trust_proxy: bool = False
    # Rasa's HTTP API, where staff replies are written into the conversation itself
    # (anxin run gives every process ANXIN_RASA_PORT; the token only from the environment).
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: Optional[str] = None
    # How often the alerts page and dashboard ask for new alerts (0: never; reload by hand).
    alerts_poll_s: float = 5.0

    def check_exposure(self) -> None:
        """``UnsafeExposure`` when these settings would serve the console insecurely."""
        problem = exposure_problem(self.host, self.secure_cookies)
        if problem:
            raise UnsafeExposure(problem)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def throttle(self) -> ThrottleRules:
        return ThrottleRules(
            per_username=self.max_failures_per_username,
            per_address=self.max_failures_per_address,
            window=timedelta(minutes=self.throttle_minutes),
        )

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> StaffSettings:
        env = os.environ if environ is None else environ
        return cls(
            host=console_host(env),
            port=int(env.get("ANXIN_STAFF_PORT", "8080")),
            secure_cookies=_flag(env.get("ANXIN_STAFF_SECURE_COOKIES")),
            session_hours=float(env.get("ANXIN_STAFF_SESSION_HOURS", "8")),
            max_failures_per_username=int(env.get("ANXIN_STAFF_MAX_FAILURES_USER", "5")),
            max_failures_per_address=int(env.get("ANXIN_STAFF_MAX_FAILURES_ADDRESS", "20")),
            throttle_minutes=float(env.get("ANXIN_STAFF_THROTTLE_MINUTES", "15")),
            access_log=_flag(env.get("ANXIN_STAFF_ACCESS_LOG")),
            trust_proxy=_flag(env.get("ANXIN_STAFF_TRUST_PROXY")),
            rasa_url=env.get("ANXIN_RASA_URL")
            or f"http://127.0.0.1:{env.get('ANXIN_RASA_PORT', '5005')}",
            rasa_token=env.get("ANXIN_RASA_TOKEN") or None,
            alerts_poll_s=float(env.get("ANXIN_STAFF_ALERTS_POLL_S", "5")),
        )
