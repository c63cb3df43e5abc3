"""The ``anxin`` command: run, train, catalog, db, nlu, actions, recordings, conversations,
wechat, telegram, call, bench."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional, Sequence

from care.catalog_schema import CatalogError
from care.config import CareSettings
from care.errors import DatabaseUnavailable


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anxin", description="Anxin (安心) elderly-care assistant")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="set up if needed and start every service (Ctrl-C stops all)")
    sub.add_parser("setup", help="migrate the database, load the catalogue, train if needed")
    t = sub.add_parser("train", help="train the Rasa model if its data changed")
    t.add_argument("--force", action="store_true", help="train even if up to date")
    cat = sub.add_parser("catalog", help="service catalogue").add_subparsers(
        dest="action", required=True
    )
    load = cat.add_parser("load", help="validate and load a catalogue YAML file")
    load.add_argument("file")
    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply database migrations")
    sub.add_parser("actions", help="start the Rasa action server")
    rec = sub.add_parser("recordings", help="kept voice turns").add_subparsers(
        dest="action", required=True
    )
    rec.add_parser("purge", help="delete recordings past ANXIN_RECORDING_RETENTION_DAYS now")
    conv = sub.add_parser("conversations", help="conversation review").add_subparsers(
        dest="action", required=True
    )
    conv.add_parser(
        "purge", help="delete conversations idle over ANXIN_CONVERSATION_RETENTION_DAYS now"
    )
    nlu = sub.add_parser("nlu", help="NLU training data").add_subparsers(
        dest="action", required=True
    )
    nlu_export = nlu.add_parser(
        "export", help="write the console's corrections as Rasa NLU data, one file per language"
    )
    nlu_export.add_argument(
        "--out", metavar="DIR", help="default: nlu_data/nlu, read by the next `anxin train`"
    )
    from staff.cli import add_parser as add_staff_parser  # standard library only at import

    add_staff_parser(sub)
    wechat = sub.add_parser("wechat", help="WeChat official account").add_subparsers(
        dest="action", required=True
    )
    wechat.add_parser("menu", help="create the account's custom menu (ANXIN_WECHAT_* settings)")
    tg = sub.add_parser("telegram", help="Telegram").add_subparsers(dest="action", required=True)
    tp = tg.add_parser(
        "poll", help="long-poll Telegram and relay updates to a running assistant (no HTTPS)"
    )
    tp.add_argument("--url", help="the Rasa server (default: http://127.0.0.1:$ANXIN_RASA_PORT)")
    tp.add_argument("--timeout", type=int, default=30, help="long-poll seconds per getUpdates")
    call = sub.add_parser("call", help="a phone-style voice session with a running assistant")
    source = call.add_mutually_exclusive_group(required=True)
    source.add_argument("--wav", nargs="+", metavar="FILE", help="spoken turns, in order")
    source.add_argument("--mic", action="store_true", help="talk through the microphone")
    call.add_argument("--url", help="the Rasa server (default: http://127.0.0.1:$ANXIN_RASA_PORT)")
    call.add_argument("--out", metavar="DIR", help="save the reply speech here (turn-N.wav)")
    call.add_argument("--sender", help="the caller's id (default: a new one per session)")
    call.add_argument("--language", choices=("zh", "en"), help="skip language detection")
    call.add_argument(
        "--audiosocket",
        metavar="HOST:PORT",
        help="call the AudioSocket bridge as Asterisk does (--wav FILE or key:N)",
    )
    call.add_argument("--caller", help="with --audiosocket: the caller number to register")
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="action", required=True)
    b = bench.add_parser("booking", help="bookings per second, 1 and 20 clients")
    b.add_argument("--db", action="append", help="sqlite, postgresql or a URL (repeatable)")
    b.add_argument("--clients", default="1,20", help="comma-separated client counts")
    b.add_argument("--seconds", type=float, default=5.0, help="duration of each run")
    b.add_argument("--write", metavar="FILE", help="append the results to this Markdown file")
    r = bench.add_parser("rest", help="latency and msg/s of a running assistant (REST channel)")
    r.add_argument("--url", default="http://127.0.0.1:5005", help="the Rasa server")
    r.add_argument("--messages", type=int, default=200, help="messages per run")
    r.add_argument("--concurrency", type=int, default=20, help="conversations at once")
    d = bench.add_parser(
        "dialogue",
        help="Anxin vs the stock `rasa init` bot: REST latency, msg/s, memory, in one run",
    )
    d.add_argument(
        "--messages", type=int, default=200, help="about this many messages per run (whole chats)"
    )
    d.add_argument("--concurrency", type=int, default=20, help="conversations at once")
    d.add_argument("--stock-port", type=int, default=5015, help="the stock bot's Rasa port")
    d.add_argument("--anxin-port", type=int, default=5025, help="Anxin's Rasa port")
    d.add_argument("--actions-port", type=int, default=5075, help="Anxin's action server port")
    d.add_argument("--only", choices=("stock", "anxin"), help="bench one of the two bots")
    d.add_argument(
        "--fresh-stock", action="store_true", help="run `rasa init` again, not the cached bot"
    )
    d.add_argument(
        "--keep", action="store_true", help="keep the server logs and the throwaway database"
    )
    c = bench.add_parser(
        "channels",
        help="WeChat acknowledgement latency (p50/p99) with 20 users at once, real stack",
    )
    c.add_argument("--users", type=int, default=20, help="simulated WeChat users at once")
    c.add_argument(
        "--messages",
        type=int,
        default=600,
        help="about this many messages in all (whole conversations, 6 messages each)",
    )
    c.add_argument("--rasa-port", type=int, default=5035, help="the bench stack's Rasa port")
    c.add_argument("--actions-port", type=int, default=5085, help="its action server port")
    c.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each user pauses after an answer before the next message (default 0)",
    )
    c.add_argument(
        "--plaintext", action="store_true", help="plaintext callbacks instead of safe mode (AES)"
    )
    c.add_argument(
        "--keep", action="store_true", help="keep the server logs and the throwaway database"
    )
    v = bench.add_parser(
        "voice", help="speech-to-text real-time factor, English WER, speech end → first audio"
    )
    v.add_argument("--model", help="a Whisper size or path (default: ANXIN_WHISPER_MODEL / base)")
    v.add_argument("--write", metavar="FILE", help="append the Markdown table to this file")
    v.add_argument(
        "--stack",
        action="store_true",
        help="through the real stack: calls over the voice WebSocket, end of speech → first "
        "reply audio byte (Rasa and actions included), offline voice",
    )
    v.add_argument("--singles", type=int, default=6, help="with --stack: one-turn calls (0-6)")
    v.add_argument(
        "--bookings", type=int, default=3, help="with --stack: lunch booking calls (4 turns each)"
    )
    v.add_argument("--rasa-port", type=int, default=5045, help="with --stack: its Rasa port")
    v.add_argument("--actions-port", type=int, default=5095, help="with --stack: actions port")
    v.add_argument("--keep", action="store_true", help="with --stack: keep logs and database")
    ci = bench.add_parser(
        "conversation-index",
        help="the conversation summary: catch-up cost, searches and purge over N conversations",
    )
    ci.add_argument("--db", action="append", help="sqlite, postgresql or a URL (repeatable)")
    ci.add_argument("--conversations", type=int, default=20_000, help="conversations to write")
    ci.add_argument("--write", metavar="FILE", help="append the results to this Markdown file")
    fz = bench.add_parser(
        "fuzz",
        help="malformed requests against every route of the real stack: no 5xx, no dropped "
        "connection, no process death",
    )
    fz.add_argument("--requests", type=int, default=10_000, help="requests in all")
    fz.add_argument("--seed", type=int, default=14, help="the same seed sends the same inputs")
    fz.add_argument(
        "--routes", help="comma-separated route groups (rest, rasa-api, wechat, telegram, "
        "voice-http, voice-ws, audiosocket, staff-pages, staff-api) or fragments of a path",
    )  # fmt: skip
    fz.add_argument("--classes", help="comma-separated input classes (default: all)")
    fz.add_argument("--without", help="comma-separated input classes to leave out")
    fz.add_argument(
        "--skip", help="comma-separated CLASS:VARIANT fragments not to send (a known killer)"
    )
    fz.add_argument("--db", default="sqlite", help="sqlite, postgresql or a PostgreSQL URL")
    fz.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    fz.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per request")
    fz.add_argument("--deadline", type=float, default=1800.0, help="seconds for the whole run")
    fz.add_argument("--rasa-port", type=int, default=5065, help="the bench stack's Rasa port")
    fz.add_argument("--actions-port", type=int, default=5105, help="its action server port")
    fz.add_argument("--staff-port", type=int, default=8085, help="its staff console port")
    fz.add_argument("--audiosocket-port", type=int, default=5125, help="its AudioSocket port")
    fz.add_argument("--write", metavar="FILE", help="append the report to this Markdown file")
    fz.add_argument(
        "--records", metavar="FILE", help="every request's outcome here, one JSON line each"
    )
    fz.add_argument("--keep", action="store_true", help="keep the server logs and database")
    sf = bench.add_parser(
        "safety",
        help="labelled messages through the real stack: emergencies and crises caught, "
        "false alarms, follow-ups of possible dangers",
    )
    sf.add_argument("--cases", metavar="FILE", help="another case file (default: the bench's own)")
    sf.add_argument("--only", choices=("zh", "en"), help="the cases of one language")
    sf.add_argument("--limit", type=int, help="this many cases, spread evenly over the file")
    sf.add_argument("--concurrency", type=int, default=4, help="conversations at once")
    sf.add_argument("--db", default="sqlite", help="sqlite, postgresql or a PostgreSQL URL")
    sf.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per message")
    sf.add_argument("--rasa-port", type=int, default=0, help="its Rasa port (0: a free one)")
    sf.add_argument("--actions-port", type=int, default=0, help="its action server port")
    sf.add_argument("--write", metavar="FILE", help="append the report to this Markdown file")
    sf.add_argument("--records", metavar="FILE", help="one JSON line per case with its outcome")
    sf.add_argument("--keep", action="store_true", help="keep the server logs and database")
    n = bench.add_parser("nlu", help="k-fold cross-validation of the NLU pipeline, per language")
    n.add_argument("--folds", type=int, default=5, help="number of folds")
    n.add_argument("--seed", type=int, default=0, help="seed of the stratified split")
    n.add_argument("--out", default="var/bench/nlu", help="where predictions and reports go")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("ANXIN_LOG_LEVEL", "WARNING"))
    try:
        return _dispatch(args)
    except DatabaseUnavailable as exc:
        print(f"anxin: {exc}", file=sys.stderr)
        return 1
    except CatalogError as exc:
        print(f"anxin: invalid catalogue: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from anxin.config import RunSettings

    run = RunSettings.from_env()
    care_settings = CareSettings.from_env()
    if args.command == "run":
        from anxin.stack import run_all

        return run_all(run, care_settings)
    if args.command == "setup":
        from anxin.stack import setup

        print(f"anxin: ready, model {setup(run, care_settings).name}")
        return 0
    if args.command == "train":
        from anxin.stack import child_env
        from anxin.train import train

        model = train(run.root, run.models_dir, child_env(run, care_settings), args.force)
        print(f"anxin: model {model.name}")
        return 0
    if args.command == "catalog":
        from care import migrate
        from care.services import build

        care = build(care_settings)
        migrate.upgrade(care.db)
        print(f"anxin: catalogue loaded: {care.catalog.load(args.file).summary()}")
        return 0
    if args.command == "db":
        from care import migrate
        from care.services import build

        care = build(care_settings)
        migrate.upgrade(care.db)
        print(
            f"anxin: database {care.db.safe_url} is at revision {migrate.current_revision(care.db)}"
        )
        return 0
    if args.command == "nlu":
        from care.conversations_nlu import export_command

        return export_command(care_settings, args.out or str(run.root / "nlu_data" / "nlu"))
    if args.command == "recordings":
        return _purge(care_settings, "care.recordings_purge")
    if args.command == "conversations":
        return _purge(care_settings, "care.conversation_retention")
    if args.command == "actions":
        from anxin.action_server import serve

        serve(run, care_settings)
        return 0
    if args.command == "wechat":
        return _wechat_menu(care_settings)
    if args.command == "telegram":
        from channels.telegram_poll import poll

        return poll(args.url or f"http://127.0.0.1:{run.rasa_port}", args.timeout)
    if args.command == "staff":
        from staff.cli import run as run_staff

        return run_staff(args)
    if args.command == "call":
        from anxin.call import call, microphone

        if args.mic:
            return microphone()
        url = args.url or f"http://127.0.0.1:{run.rasa_port}"
        if args.audiosocket:
            from anxin.call import audiosocket_call

            return audiosocket_call(args.audiosocket, args.wav, args.out, args.caller, url)
        return call(url, args.wav, args.out, args.sender, args.language)
    if args.command == "bench":
        if args.action == "dialogue":
            from anxin.bench.dialogue import dialogue_bench

            return dialogue_bench(
                args.messages,
                args.concurrency,
                args.stock_port,
                args.anxin_port,
                args.actions_port,
                keep=args.keep,
                only=args.only,
                fresh_stock=args.fresh_stock,
            )
        if args.action == "channels":
            from anxin.bench.channels import channels_bench

            return channels_bench(
                args.users,
                args.messages,
                args.rasa_port,
                args.actions_port,
                keep=args.keep,
                plaintext=args.plaintext,
                think_s=args.think,
            )
        if args.action == "fuzz":
            from anxin.bench.fuzz import Options, fuzz_bench

            def listed(raw: Optional[str]) -> Optional[list[str]]:
                return [x.strip() for x in raw.split(",") if x.strip()] if raw else None

            return fuzz_bench(
                Options(
                    requests=args.requests,
                    seed=args.seed,
                    routes=listed(args.routes),
                    classes=listed(args.classes),
                    without=listed(args.without),
                    skip=listed(args.skip),
                    db=args.db,
                    concurrency=args.concurrency,
                    timeout=args.timeout,
                    deadline=args.deadline,
                    rasa_port=args.rasa_port,
                    actions_port=args.actions_port,
                    staff_port=args.staff_port,
                    audiosocket_port=args.audiosocket_port,
                    write=args.write,
                    records=args.records,
                    keep=args.keep,
                )
            )
        if args.action == "safety":
            from anxin.bench.safety import Options as SafetyOptions
            from anxin.bench.safety import safety_bench

            return safety_bench(
                SafetyOptions(
                    cases=args.cases,
                    only=args.only,
                    limit=args.limit,
                    concurrency=args.concurrency,
                    db=args.db,
                    rasa_port=args.rasa_port,
                    actions_port=args.actions_port,
                    timeout=args.timeout,
                    write=args.write,
                    records=args.records,
                    keep=args.keep,
                )
            )
        if args.action == "nlu":
            from pathlib import Path

            from anxin.bench.nlu import nlu_bench

            return nlu_bench(run.root, args.folds, args.seed, Path(args.out))
        if args.action == "voice" and args.stack:
            from anxin.bench.voice_call import voice_call_bench

            return voice_call_bench(
                args.model,
                args.rasa_port,
                args.actions_port,
                args.singles,
                args.bookings,
                args.write,
                keep=args.keep,
            )
        if args.action == "voice":
            from voice.bench import main as voice_bench

            voice_bench(
                (["--model", args.model] if args.model else [])
                + (["--write", args.write] if args.write else [])
            )
            return 0
        if args.action == "conversation-index":
            from anxin.bench.conversation_index import conversation_index_bench

            return conversation_index_bench(
                args.db or ["sqlite", "postgresql"], args.conversations, args.write
            )
        if args.action == "rest":
            from anxin.bench.rest import rest_bench

            return rest_bench(args.url, args.messages, args.concurrency)
        from anxin.bench.booking import booking_bench

        return booking_bench(
            args.db or ["sqlite", "postgresql"], args.clients, args.seconds, args.write
        )
    raise AssertionError(args.command)


def _purge(care_settings: CareSettings, module: str) -> int:
    """``anxin recordings purge`` / ``anxin conversations purge``: the module's purge_command."""
    import importlib

    from care import migrate
    from care.services import build

    purge_command = importlib.import_module(module).purge_command
    care = build(care_settings)
    try:
        migrate.upgrade(care.db)
        return int(purge_command(care.db, care.clock()))
    finally:
        care.close()


def _wechat_menu(care_settings: CareSettings) -> int:
    import asyncio

    import aiohttp

    from care import migrate
    from care.services import build
    from channels.config import WeChatSettings
    from channels.wechat_api import WeChatAPIError, create_menu_now

    settings = WeChatSettings.from_env()
    if settings is None:
        print(
            "anxin: set ANXIN_WECHAT_TOKEN, ANXIN_WECHAT_APPID and ANXIN_WECHAT_SECRET",
            file=sys.stderr,
        )
        return 2
    care = build(care_settings)
    try:
        migrate.upgrade(care.db)  # the access token is cached in the database
        create_menu_now(settings, care.channels)
    except (WeChatAPIError, OSError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
        print(f"anxin: the WeChat menu was not created: {exc}", file=sys.stderr)
        return 1
    finally:
        care.close()
    print("anxin: WeChat menu created: 订餐 | 预约 (日托, 看病, 陪我聊聊) | 我的预约")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
