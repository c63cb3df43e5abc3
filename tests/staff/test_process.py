"""The console as the operator runs it: ``python -m staff create-user`` and the HTTP server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from care.config import REPO_ROOT
from tests.staff.conftest import PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANXIN_DB_URL": f"sqlite:///{tmp_path / 'anxin.db'}",
        "ANXIN_STAFF_HOST": "127.0.0.1",
        "ANXIN_STAFF_PORT": str(_free_port()),
    }


def _staff(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "staff", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    created = _staff(env, "create-user", "director.chen", "--role", "admin", stdin=PASSWORD)
    assert created.returncode == 0, created.stderr
    url = f"http://127.0.0.1:{env['ANXIN_STAFF_PORT']}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "staff"], env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "the console exited"
            assert time.monotonic() < deadline, "the console did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_create_user_reads_the_password_from_stdin_never_argv(env: dict[str, str]):
    refused = _staff(env, "create-user", "nurse.li", "--password", PASSWORD)
    assert refused.returncode == 2  # argparse: no such option
    short = _staff(env, "create-user", "nurse.li", stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr
    made = _staff(env, "create-user", "nurse.li", "--role", "volunteer", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "nurse.li (volunteer)" in made.stdout
    assert PASSWORD not in made.stdout + made.stderr
    again = _staff(env, "create-user", "nurse.li", stdin=PASSWORD)
    assert again.returncode == 2 and "already" in again.stderr


def test_the_console_serves_login_and_the_api_over_http(server: str, env: dict[str, str]):
    with httpx.Client(base_url=server) as browser:
        form = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        response = browser.post(
            "/login",
            data={"username": "director.chen", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 303
        assert browser.get("/users").status_code == 200
        assert browser.get("/api/alerts").json() == {"alerts": []}
    assert httpx.get(f"{server}/api/bookings").status_code == 401
    token = _staff(env, "create-token", "city-dashboard").stdout.strip()
    assert token.startswith("anx_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server}/api/bookings", headers=bearer).json() == {"bookings": []}
