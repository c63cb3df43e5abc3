"""`anxin run` brings up the real Rasa server and action server; Ctrl-C stops them all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from care.config import CareSettings
from care.services import build
from tests.support.clock import pinned_env, stack_care, stack_clock, weekday_ahead
from tests.support.rasa_api import RASA_TOKEN, api_url

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, sender: str, message: str) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


class Output:
    """Drains a child's output on a thread: a full pipe would freeze the whole stack."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._drain, args=(proc,), daemon=True)
        self._thread.start()

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            if not self._thread.is_alive():
                break
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} within {timeout}s:\n" + self.text[-4000:])

    def close(self) -> None:
        self._thread.join(timeout=30)


def start(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[str], dict[str, str], Output]:
    """`anxin run` on a throwaway var/, its clock pinned (tests/support/clock.py); the
    stack's own SQLite file unless the test names a database (ANXIN_DB_URL in extra)."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "ANXIN_DB_URL"},
        **pinned_env(),
        "ANXIN_VAR_DIR": str(tmp_path / "var"),
        "ANXIN_RASA_PORT": str(free_port()),
        "ANXIN_ACTIONS_PORT": str(free_port()),
        "ANXIN_STAFF_PORT": str(free_port()),
        # Rasa's API always has a token; the tests' is known to tests/support/rasa_api.
        "ANXIN_RASA_TOKEN": RASA_TOKEN,
        # Fixed too, so a second Rasa server for the same stack (tests/support/scale_out)
        # is let in by the stack's action server.
        "ANXIN_ACTION_TOKEN": "anxin-tests-action-token",
        **extra,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "anxin", "run"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, env, Output(proc)


def rasa_ready(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, "anxin run exited while starting"
        try:
            with urllib.request.urlopen(api_url(port, "/status"), timeout=5) as resp:
                if json.loads(resp.read()).get("model_file"):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError("Rasa did not load its model in time")


def stop(proc: subprocess.Popen[str], out: Optional[Output] = None) -> None:
    """Stop a stack started by ``start``, however far it got."""
    if proc.poll() is None:
        # SIGTERM lets honcho stop its children (each in its own process group).
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if out is not None:
        out.close()


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        stop(proc)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_answers_in_both_languages_and_ctrl_c_stops_all(tmp_path, stopped_at_end):
    proc, env, out = start(tmp_path)
    stopped_at_end.append(proc)
    pids = {
        name: int(out.wait_for(rf"\b{name} started \(pid=(\d+)\)", READY_TIMEOUT_S).group(1))
        for name in ("actions", "rasa", "staff")
    }
    assert "catalogue loaded" in out.text
    assert f"http://127.0.0.1:{env['ANXIN_RASA_PORT']}" in out.text
    port = int(env["ANXIN_RASA_PORT"])
    rasa_ready(port, proc)

    hello_zh = post(port, "elder-zh", "你好")
    assert hello_zh and re.search(r"[\u4e00-\u9fff]", hello_zh[0]["text"])
    hello_en = post(port, "elder-en", "hello")
    assert hello_en and "Anxin" in hello_en[0]["text"]
    # ask_services runs our custom action, which reads the demo catalogue from SQLite.
    services_en = post(port, "elder-en", "what services do you have")
    assert re.search(r"\d+ lunch seats left", services_en[0]["text"]), services_en
    services_zh = post(port, "elder-zh", "你们都有啥服务")
    assert "午饭还有" in services_zh[0]["text"] and "陪聊电话" in services_zh[0]["text"]
    assert (tmp_path / "var" / "anxin.db").exists()

    # Safety first: the first reply says call 120, and staff have an alert in the database.
    fall = post(port, "elder-zh", "我摔倒了起不来")
    assert "120" in fall[0]["text"] and "工作人员" in fall[1]["text"], fall
    chest = post(port, "elder-en", "my chest hurts so bad i cant breathe")
    assert "call 120" in chest[0]["text"], chest
    lonely = post(port, "elder-zh", "孩子都不在身边 俺一个人在家没人说话")
    assert any("志愿者" in m["text"] for m in lonely), lonely
    care = build(CareSettings(db_url=f"sqlite:///{tmp_path / 'var' / 'anxin.db'}"))
    alerts = care.alerts.open_alerts()
    care.close()
    assert [(a.kind, a.conversation_id, a.channel) for a in alerts] == [
        ("emergency", "rest:elder-en", "rest"),  # Rasa's conversation: rest:<sender>
        ("emergency", "rest:elder-zh", "rest"),
    ]
    # The staff console came up with the rest, on its own port, asking for a login.
    console = f"http://127.0.0.1:{env['ANXIN_STAFF_PORT']}"
    assert f"staff console  {console}/" in out.text
    page = urllib.request.urlopen(f"{console}/login", timeout=10)
    assert page.status == 200 and "<form" in page.read().decode("utf-8")

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    proc.wait(timeout=60)
    out.close()
    assert all(not pid_alive(pid) for pid in pids.values())
    assert "SIGINT received" in out.text


def test_a_crashed_process_is_reported_and_stops_the_rest(tmp_path, stopped_at_end):
    proc, _, out = start(tmp_path)
    stopped_at_end.append(proc)
    rasa_pid = int(out.wait_for(r"\brasa started \(pid=(\d+)\)", READY_TIMEOUT_S).group(1))
    actions_pid = int(out.wait_for(r"\bactions started \(pid=(\d+)\)", 10).group(1))
    out.wait_for(r"Action endpoint is up and running on http://127.0.0.1", 120)
    os.kill(actions_pid, signal.SIGKILL)
    proc.wait(timeout=60)
    out.close()
    assert proc.returncode != 0
    assert re.search(r"actions stopped \(rc=-?9\)", out.text), out.text[-2000:]
    assert not pid_alive(rasa_pid)


def test_unreachable_database_is_one_line_at_start_up(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "anxin", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANXIN_DB_URL": "postgresql://nobody@127.0.0.1:1/anxin"},
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith(
        "anxin: cannot reach the database postgresql://nobody@127.0.0.1:1/anxin"
    )


def test_catalog_load_reports_file_line_and_field(tmp_path):
    bad = tmp_path / "centre.yml"
    bad.write_text("version: 1\ncentre:\n  code: x\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "anxin", "catalog", "load", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANXIN_DB_URL": f"sqlite:///{tmp_path / 'c.db'}"},
    )
    assert proc.returncode == 2
    assert f"{bad}:2: centre.name: field required" in proc.stderr
    good = subprocess.run(
        [
            sys.executable,
            "-m",
            "anxin",
            "catalog",
            "load",
            str(ROOT / "care/data/demo_catalog.yml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANXIN_DB_URL": f"sqlite:///{tmp_path / 'c.db'}"},
    )
    assert good.returncode == 0 and "created" in good.stdout, good.stderr


def test_booking_lunch_through_the_form(tmp_path, stopped_at_end):
    proc, env, out = start(tmp_path)
    stopped_at_end.append(proc)
    port = int(env["ANXIN_RASA_PORT"])
    rasa_ready(port, proc)
    # Lunch and dinner on it, from tomorrow on the stack's clock (pinned).
    day = weekday_ahead(stack_clock(env), min_days=1)

    def say(text: str) -> str:
        return " ".join(m.get("text", "") for m in post(port, "meal-elder", text))

    assert "送到家" in say(f"俺想订{day.month}月{day.day}号的午饭")  # asks: canteen or home?
    menu = say("中午都有啥菜")  # a digression: the menu, then the same question again
    assert "午饭：" in menu and "送到家" in menu, menu
    assert "称呼" in say("给俺送到家吧")  # a first-timer is asked their name
    readback = say("李秀兰")
    weekday = "一二三四五六日"[day.weekday()]
    assert f"{day.month}月{day.day}号，星期{weekday}" in readback, readback
    assert "午饭" in readback and "送到家" in readback and "对吗" in readback
    assert "订好了" in say("对")
    assert "午饭，送到家" in say("俺都约了啥")

    assert "不订了" in say("我还想订饭") + say("算了不订了")

    # Book dinner too, then cancel it by name.
    say(f"再订{day.month}月{day.day}号的晚饭")
    say("在食堂吃")
    assert "订好了" in say("对")
    assert "晚饭" in say(f"取消{day.month}月{day.day}号的晚饭")
    assert "取消好了" in say("对")

    care = stack_care(f"sqlite:///{tmp_path / 'var' / 'anxin.db'}", env)
    person = care.people.find_by_identity("rest", "meal-elder")
    assert person is not None and person.name == "李秀兰"
    [booking] = care.bookings.upcoming(person.id)
    care.close()
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "rest" and booking.booked_by == f"person:{person.id}"
