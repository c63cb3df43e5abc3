"""A message whose processing kills the assistant is set aside at the restart, not replayed
into a crash loop: against the real stack (`anxin run`, WeChat and Telegram on, their
platforms faked on loopback), killed for real.

A Telegram voice note and a WeChat voice message are each caught half-way: their audio
is still downloading (the fakes hold the download, as a slow network does) when the Rasa
process is killed with SIGKILL. ``anxin run`` then stops everything, as it does when Rasa
dies. The stack is started again on the same database. Nothing is processed again — a
message that killed the assistant once would kill it again — instead each person is told
kindly, in their language, to send it again or call the centre, and staff find an alert
for each in the console's API. The people's next messages are answered as usual.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from datetime import timedelta
from typing import Any

from care.staff_sessions import StaffSessions
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.stacks import TELEGRAM_TOKEN, ChannelStack, Elder, Person, running
from tests.channels.wechat_fakes import FakeWeChatAPI, voice_xml
from tests.support import processes
from voice.base import Audio
from voice.codecs import encode

CHAT, OPENID = 7501, "oStuckVoice"


def quiet(fmt: str) -> bytes:
    return encode(Audio(bytes(16_000 * 2)), fmt)


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def console_alerts(stack: ChannelStack) -> list[dict[str, Any]]:
    """What staff see in the console: its JSON API, with a staff member's token."""
    sessions = StaffSessions(stack.care.db, stack.care.clock, timedelta(hours=1))
    token = sessions.create_token(f"quarantine-{time.monotonic_ns()}", "staff", "test")
    req = urllib.request.Request(f"{stack.staff_url}/api/alerts",
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        return list(json.loads(resp.read())["alerts"])


def test_a_message_that_killed_the_assistant_is_set_aside_told_and_shown_to_staff(
    tmp_path_factory,
):
    root = tmp_path_factory.mktemp("quarantine")
    with FakeWeChatAPI() as wechat_api:
        telegram_api = FakeTelegram(TELEGRAM_TOKEN).start()
        try:
            note_gate = telegram_api.hold("stuck-note")
            voice_gate = wechat_api.hold("stuck-voice")
            telegram_api.add_file("stuck-note", quiet("ogg_opus"))
            wechat_api.media["stuck-voice"] = quiet("amr")
            with running(root, wechat=True, telegram=True, wechat_api=wechat_api,
                         telegram_api=telegram_api) as first:  # fmt: skip
                assert first.proc is not None
                [rasa] = processes.running(first.proc.pid, processes.RASA)

                person = Person(first, CHAT, language_code="zh-hans")
                update = person.message("")
                del update["message"]["text"]
                update["message"]["voice"] = {"file_id": "stuck-note", "duration": 1,
                                              "file_unique_id": "u-stuck", "file_size": 99,
                                              "mime_type": "audio/ogg"}  # fmt: skip
                assert first.post_telegram(json.dumps(update).encode()) == 200
                elder = Elder(first, OPENID)
                wechat = threading.Thread(target=elder.wechat.post,
                                          args=(voice_xml(OPENID, "stuck-voice", 990001),))
                wechat.start()  # WeChat's server waits for its answer meanwhile

                # Both are being processed (their audio is on its way) when Rasa dies.
                note, voice = "voice/stuck-note.oga", "stuck-voice"
                wait_until(lambda: note in telegram_api.asked and voice in wechat_api.asked,
                           120, "both downloads")  # fmt: skip
                os.kill(rasa, signal.SIGKILL)
                wait_until(lambda: first.proc.poll() is not None, 60, "anxin run stopping")
                wechat.join(30)
            note_gate.set()  # nobody is waiting for them any more
            voice_gate.set()

            with running(root, wechat=True, telegram=True, wechat_api=wechat_api,
                         telegram_api=telegram_api) as second:  # fmt: skip
                # Told, in their language (Chinese here), to send it again or call 12349.
                [told] = wait_until(lambda: telegram_api.sent(chat_id=CHAT), 90,
                                    "the Telegram person told")  # fmt: skip
                assert "没能处理" in told.text and "12349" in told.text, told.text
                [said] = wait_until(lambda: wechat_api.texts_to(OPENID), 90,
                                    "the WeChat person told")  # fmt: skip
                assert "没能处理" in said and "12349" in said, said

                # Staff see both, in the console.
                failed = {(a["channel"], a["conversation_id"]): a for a in console_alerts(second)
                          if a["kind"] == "message_failed"}  # fmt: skip
                assert set(failed) == {("telegram", f"telegram:{CHAT}"),
                                       ("wechat", f"wechat:{OPENID}")}, failed  # fmt: skip
                assert "voice message" in failed[("telegram", f"telegram:{CHAT}")]["summary"]
                assert failed[("wechat", f"wechat:{OPENID}")]["status"] == "open"
                assert {h.sender_id for h in second.care.channels.set_aside()} == {
                    str(CHAT), OPENID
                }

                # Never processed again: not fetched, not heard, no turn, not told twice.
                time.sleep(3)  # a few more background rounds (every 0.5-1 s here)
                assert telegram_api.asked.count("voice/stuck-note.oga") == 1
                assert wechat_api.asked.count("stuck-voice") == 1
                assert second.user_turns(str(CHAT)) == 0 and second.user_turns(OPENID) == 0
                assert len(telegram_api.sent(chat_id=CHAT)) == 1
                assert len(wechat_api.texts_to(OPENID)) == 1

                # And they carry on: their next messages are answered.
                person = Person(second, CHAT, language_code="zh-hans")
                person.seen = 1
                assert person.say("你好")
                assert Elder(second, OPENID).says("你好")
                [rasa_again] = processes.running(second.proc.pid, processes.RASA)
                assert processes.alive(rasa_again)
        finally:
            telegram_api.stop()
