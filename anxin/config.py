"""Settings of the launcher (``anxin run`` and friends), read from the environment once."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from care.catalog import DEMO_CATALOG
from care.config import REPO_ROOT


@dataclass(frozen=True)
class RunSettings:
    root: Path
    var_dir: Path
    models_dir: Path
    catalog: Path
    bind: str
    rasa_port: int
    actions_port: int
    staff_port: int
    # Rasa's HTTP API (trackers, /status) is an admin interface: the operator's token
    # (required whenever it listens beyond this machine) ...
    rasa_token: Optional[str] = None
    # Scale-out: conversations (trackers) and their locks in Redis, shared by several
    # Rasa worker processes; without Redis, one process keeps them in memory.
    redis_url: Optional[str] = None
    redis_prefix: str = "anxin"  # several centres (or test runs) may share one Redis
    rasa_workers: int = 1
    # ... or, without one, a token made for this run: the API needs one on every address.
    generated_rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # What Rasa shows the action server (ANXIN_ACTION_TOKEN, else made for this run).
    action_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # The action server listens here, where Rasa reaches it: this machine by default,
    # whatever ANXIN_BIND is (ANXIN_ACTIONS_BIND for an action server elsewhere).
    actions_bind: str = "127.0.0.1"
    # Integrations calling the REST and voice routes show this (channels/caller_auth.py).
    rest_token: Optional[str] = None

    @property
    def rasa_api_token(self) -> str:
        """The token Rasa's HTTP API asks of every caller (the staff console included)."""
        return self.rasa_token or self.generated_rasa_token

    @property
    def action_endpoint_url(self) -> str:
        host = "127.0.0.1" if self.actions_bind in ("0.0.0.0", "::", "") else self.actions_bind
        if ":" in host:  # an IPv6 address in a URL
            host = f"[{host}]"
        return f"http://{host}:{self.actions_port}/webhook"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> RunSettings:
        env = os.environ if environ is None else environ
        root = Path(env.get("ANXIN_ROOT", REPO_ROOT))
        var_dir = Path(env.get("ANXIN_VAR_DIR", root / "var"))
        return cls(
            root=root,
            var_dir=var_dir,
            models_dir=Path(env.get("ANXIN_MODELS_DIR", root / "models")),
            catalog=Path(env.get("ANXIN_CATALOG", DEMO_CATALOG)),
            # Local by default; a deployment behind a proxy sets ANXIN_BIND=0.0.0.0.
            bind=env.get("ANXIN_BIND", "127.0.0.1"),
            rasa_port=_port(env, "ANXIN_RASA_PORT", 5005),
            actions_port=_port(env, "ANXIN_ACTIONS_PORT", 5055),
            staff_port=_port(env, "ANXIN_STAFF_PORT", 8080),
            rasa_token=env.get("ANXIN_RASA_TOKEN") or None,
            redis_url=env.get("ANXIN_REDIS_URL") or None,
            redis_prefix=_prefix(env),
            rasa_workers=_workers(env),
            actions_bind=env.get("ANXIN_ACTIONS_BIND") or "127.0.0.1",
            rest_token=env.get("ANXIN_REST_TOKEN") or None,
            **_action_token(env),
        )

    @property
    def local_only(self) -> bool:
        return self.bind in ("127.0.0.1", "localhost", "::1")


def _action_token(env: Mapping[str, str]) -> dict[str, str]:
    token = env.get("ANXIN_ACTION_TOKEN")
    return {"action_token": token} if token else {}


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{name}={raw!r} is not a port number")
    return int(raw)


def _workers(env: Mapping[str, str]) -> int:
    """Rasa worker processes: more than one only with Redis (memory is not shared).

    One by default: on 2 cores, two workers with Redis trackers answered 32.7 msg/s
    where one process in memory answered 47.9 (docs/benchmarks.md). More workers pay
    on machines with cores to spare; several replicas share Redis either way.
    """
    if not env.get("ANXIN_REDIS_URL"):
        return 1
    raw = env.get("ANXIN_RASA_WORKERS", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"ANXIN_RASA_WORKERS={raw!r} is not a number of processes")
    return int(raw)


def _prefix(env: Mapping[str, str]) -> str:
    raw = env.get("ANXIN_REDIS_PREFIX", "anxin")
    if not raw.isalnum():  # Rasa's Redis stores accept letters and digits only
        raise SystemExit(f"ANXIN_REDIS_PREFIX={raw!r}: letters and digits only")
    return raw


def rest_auth(environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Headers a client of the REST and voice routes sends: ``ANXIN_REST_TOKEN`` when set
    (channels/caller_auth.py), nothing otherwise (a server without it answers only its
    own machine)."""
    token = (os.environ if environ is None else environ).get("ANXIN_REST_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}
