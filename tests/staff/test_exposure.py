"""The secure-cookie guard: the console never serves its session cookie without
``Secure`` beyond this machine, whichever variable put it there (``ANXIN_STAFF_HOST`` or
``ANXIN_BIND``) and however it is started (``python -m staff``, ``anxin run``, an app
built by ``create_app``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from anxin.config import RunSettings
from anxin.stack import processes
from care.config import REPO_ROOT
from care.services import CareServices
from staff.app import create_app
from staff.config import StaffSettings, UnsafeExposure, loopback
from tests.staff.served import free_port

MODEL, CREDS, ENDS = Path("models/x.tar.gz"), Path("var/credentials.yml"), Path("var/ends.yml")


@pytest.mark.parametrize(
    "host, local",
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False),
     ("10.0.0.5", False), ("console.example.org", False), ("", False)],
)  # fmt: skip
def test_only_loopback_addresses_are_local(host: str, local: bool) -> None:
    assert loopback(host) is local


def test_an_app_for_a_public_address_is_refused_without_secure_cookies(care: CareServices):
    with pytest.raises(UnsafeExposure, match="ANXIN_STAFF_SECURE_COOKIES=1"):
        create_app(care, StaffSettings(host="0.0.0.0"))
    create_app(care, StaffSettings(host="0.0.0.0", secure_cookies=True))
    create_app(care, StaffSettings(host="127.0.0.1"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    unset = ("ANXIN_STAFF_HOST", "ANXIN_BIND", "ANXIN_STAFF_SECURE_COOKIES")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return {**env, "ANXIN_DB_URL": f"sqlite:///{tmp_path / 'anxin.db'}",
            "ANXIN_STAFF_PORT": str(free_port()), **extra}  # fmt: skip


@pytest.mark.parametrize(
    "variables",
    [{"ANXIN_STAFF_HOST": "0.0.0.0"}, {"ANXIN_BIND": "0.0.0.0"},
     {"ANXIN_BIND": "127.0.0.1", "ANXIN_STAFF_HOST": "192.168.1.20"}],
)  # fmt: skip
def test_the_console_process_refuses_to_start_on_a_public_address(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    env = _env(tmp_path, **variables)
    done = subprocess.run([sys.executable, "-m", "staff"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "ANXIN_STAFF_SECURE_COOKIES=1" in done.stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{env['ANXIN_STAFF_PORT']}/healthz", timeout=2)


def test_a_console_kept_on_loopback_starts_though_the_assistant_is_public(tmp_path: Path):
    env = _env(tmp_path, ANXIN_BIND="0.0.0.0", ANXIN_STAFF_HOST="127.0.0.1")
    url = f"http://127.0.0.1:{env['ANXIN_STAFF_PORT']}/healthz"
    proc = subprocess.Popen([sys.executable, "-m", "staff"], env=env, cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "the console exited"
            try:
                assert httpx.get(url, timeout=2).json() == {"status": "ok"}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_anxin_run_refuses_a_public_staff_host_as_well_as_a_public_bind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = RunSettings.from_env({"ANXIN_BIND": "127.0.0.1"})
    public = RunSettings.from_env({"ANXIN_BIND": "0.0.0.0", "ANXIN_RASA_TOKEN": "s3cret",
                                  "ANXIN_REST_TOKEN": "r3st"})
    monkeypatch.delenv("ANXIN_STAFF_SECURE_COOKIES", raising=False)
    monkeypatch.setenv("ANXIN_STAFF_HOST", "0.0.0.0")
    with pytest.raises(SystemExit, match="ANXIN_STAFF_SECURE_COOKIES=1"):
        processes(local, MODEL, CREDS, ENDS, staff=True)  # was let through
    monkeypatch.setenv("ANXIN_STAFF_HOST", "127.0.0.1")
    assert "staff" in processes(public, MODEL, CREDS, ENDS, staff=True)  # console local
    monkeypatch.delenv("ANXIN_STAFF_HOST")
    with pytest.raises(SystemExit, match="ANXIN_STAFF_SECURE_COOKIES=1"):
        processes(public, MODEL, CREDS, ENDS, staff=True)
    monkeypatch.setenv("ANXIN_STAFF_SECURE_COOKIES", "1")
    monkeypatch.setenv("ANXIN_STAFF_HOST", "0.0.0.0")
    assert "staff" in processes(local, MODEL, CREDS, ENDS, staff=True)
