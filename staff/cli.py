"""``anxin staff …`` (and ``python -m staff …``): accounts, API tokens, and the console process.

Passwords are read from a prompt, or from standard input with ``--password-stdin``
(scripts), never from the command line where ``ps`` and shell history would keep them.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any, Optional, Sequence, TextIO

ROLES = ("admin", "staff", "volunteer")


def _add_actions(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="staff_action")
    user = sub.add_parser("create-user", help="create a console account (password prompted)")
    user.add_argument("username")
    user.add_argument("--role", choices=ROLES, default="staff")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    pw = sub.add_parser("set-password", help="change a password (ends the user's sessions)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    token = sub.add_parser("create-token", help="an API token for an integration (shown once)")
    token.add_argument("name")
    token.add_argument("--role", choices=("staff", "volunteer"), default="staff")
    sub.add_parser("serve", help="start the console (ANXIN_STAFF_HOST, ANXIN_STAFF_PORT=8080)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``staff`` to a CLI's subparsers; dispatch ``args.command == "staff"`` to ``run``."""
    staff = subparsers.add_parser("staff", help="staff console: accounts, tokens, serve")
    _add_actions(staff)
    return staff


def read_password(stdin: TextIO, from_stdin: bool) -> str:
    if from_stdin or not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


def run(args: argparse.Namespace, stdin: Optional[TextIO] = None) -> int:
    from care import migrate
    from care.errors import CareError, DatabaseUnavailable
    from care.services import build
    from staff.app import serve

    action = getattr(args, "staff_action", None) or "serve"
    if action == "serve":
        return serve()
    stdin = stdin or sys.stdin
    try:
        care = build()
    except DatabaseUnavailable as exc:
        print(f"anxin: {exc}", file=sys.stderr)
        return 1
    try:
        migrate.upgrade(care.db)
        from care.staff_sessions import StaffSessions
        from care.staff_users import StaffUsers
        from staff.config import StaffSettings

        settings = StaffSettings.from_env()
        users = StaffUsers(care.db, care.clock, settings.throttle)
        if action == "create-user":
            user = users.create(args.username, args.role, read_password(stdin, args.password_stdin))
            print(f"anxin: staff user {user.username} ({user.role}) created")
        elif action == "set-password":
            users.set_password(args.username, read_password(stdin, args.password_stdin))
            print(f"anxin: password of {args.username} changed")
        elif action == "create-token":
            sessions = StaffSessions(care.db, care.clock, settings.session_lifetime)
            token = sessions.create_token(args.name, args.role, f"cli:{getpass.getuser()}")
            print(token)  # the only time it is shown: for the integration's configuration
        return 0
    except (CareError, ValueError) as exc:
        print(f"anxin: {exc}", file=sys.stderr)
        return 2
    finally:
        care.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff", description=__doc__)
    _add_actions(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("ANXIN_LOG_LEVEL", "WARNING"))
    return run(args)
