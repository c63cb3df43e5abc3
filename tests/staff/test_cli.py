"""``staff.cli.add_parser`` as ``anxin`` wires it: ``anxin staff create-user NAME --role R``."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from care.config import CareSettings
from care.services import build
from care.staff_users import StaffUsers
from staff import cli
from tests.staff.conftest import PASSWORD


def anxin_like_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anxin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    cli.add_parser(sub)
    return parser


def test_anxin_staff_create_user_through_add_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    url = f"sqlite:///{tmp_path / 'anxin.db'}"
    monkeypatch.setenv("ANXIN_DB_URL", url)
    args = anxin_like_parser().parse_args(["staff", "create-user", "Nurse.Li", "--role", "admin"])
    assert (args.command, args.staff_action, args.role) == ("staff", "create-user", "admin")
    assert cli.run(args, stdin=io.StringIO(PASSWORD + "\n")) == 0
    assert "nurse.li (admin)" in capsys.readouterr().out
    care = build(CareSettings(db_url=url))
    try:
        users = StaffUsers(care.db, care.clock)
        assert [(u.username, u.role) for u in users.all()] == [("nurse.li", "admin")]
        assert users.login("nurse.li", PASSWORD, "127.0.0.1").user is not None
        assert users.login("nurse.li", PASSWORD + "x", "127.0.0.1").user is None
    finally:
        care.close()


def test_a_bad_role_or_username_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANXIN_DB_URL", f"sqlite:///{tmp_path / 'anxin.db'}")
    with pytest.raises(SystemExit):
        anxin_like_parser().parse_args(["staff", "create-user", "x", "--role", "root"])
    args = anxin_like_parser().parse_args(["staff", "create-user", "no spaces allowed"])
    assert cli.run(args, stdin=io.StringIO(PASSWORD)) == 2
