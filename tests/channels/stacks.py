"""The real stack (`python -m anxin run`) with its channels on, and the people who use them.

``running`` starts one stack with the WeChat channel, the Telegram channel or both, each
pointed at its platform faked on loopback (wechat_fakes.FakeWeChatAPI for WeChat's API,
fake_telegram.FakeTelegram for the Bot API), and stops it however far it got. ``Elder``
is someone on WeChat (WeChat's server calling our webhook, signed), ``Person`` someone on
Telegram (Telegram's updates posted to our webhook with the secret); both read what the
assistant sent them back. Shared by the WeChat, Telegram and two-apps stack tests, so
the three start the stack and talk to it the same way.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import xmltodict

from care.services import CareServices
from tests.channels.fake_telegram import BOT_ID, Call, FakeTelegram
from tests.channels.wechat_fakes import (
    AES_KEY,
    APP_ID,
    SECRET,
    TOKEN,
    FakeWeChatAPI,
    WeChatServer,
    text_xml,
)
from tests.integration.test_stack import Output, post, rasa_ready, start, stop
from tests.support.clock import stack_care
from tests.support.rasa_api import tracker_events

TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "s3cret-Token_1"


class ChannelStack:
    def __init__(
        self,
        port: int,
        care: CareServices,
        out: Output,
        wechat_api: Optional[FakeWeChatAPI] = None,
        telegram_api: Optional[FakeTelegram] = None,
        proc: Optional[subprocess.Popen[str]] = None,
        staff_port: Optional[int] = None,
        env: Optional[dict[str, str]] = None,
    ) -> None:
        self.port, self.care, self.out = port, care, out
        self.proc = proc  # `anxin run`, the root of the stack's processes
        self.staff_url = f"http://127.0.0.1:{staff_port}" if staff_port else None
        self.env = env or {}  # the environment `anxin run` was started with
        self.wechat_api, self.telegram_api = wechat_api, telegram_api
        self.wechat_url = f"http://127.0.0.1:{port}/webhooks/wechat/webhook"
        self.telegram_url = f"http://127.0.0.1:{port}/webhooks/telegram/webhook"
        # WeChat's server, plaintext, signing at the stack's time
        self.wechat = WeChatServer(self.wechat_url)

    def post_telegram(self, body: bytes, secret: Optional[str] = TELEGRAM_SECRET,
                      **headers: str) -> int:  # fmt: skip
        """Telegram delivering an update to the webhook; the HTTP status it gets."""
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        req = urllib.request.Request(
            self.telegram_url, data=body, headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            assert b"Traceback" not in err.read()
            return int(err.code)

    def user_turns(self, conversation_id: str) -> int:
        """User turns Rasa keeps under ``conversation_id`` (its id: ``telegram:123``)."""
        events = tracker_events(self.port, conversation_id)
        return sum(1 for e in events if e["event"] == "user")


@contextmanager
def running(
    tmp: Path,
    wechat: bool = False,
    telegram: bool = False,
    wechat_api: Optional[FakeWeChatAPI] = None,
    telegram_api: Optional[FakeTelegram] = None,
    **extra: str,
) -> Iterator[ChannelStack]:
    """One stack with the channels asked for; background rounds are fast for the tests.

    A second stack on the same ``tmp`` is the first one restarted (its database); given
    the fakes the first one used (``wechat_api``, ``telegram_api``: not stopped here),
    it is reached by the same people. ``extra`` is more of the stack's environment
    (e.g. ANXIN_DB_URL, ANXIN_REDIS_URL)."""
    with ExitStack() as fakes:
        env: dict[str, str] = dict(extra)
        if wechat and wechat_api is None:
            wechat_api = fakes.enter_context(FakeWeChatAPI())
        if wechat:
            assert wechat_api is not None
            env.update(ANXIN_WECHAT_TOKEN=TOKEN, ANXIN_WECHAT_APPID=APP_ID,
                       ANXIN_WECHAT_SECRET=SECRET, ANXIN_WECHAT_AES_KEY=AES_KEY,
                       ANXIN_WECHAT_API_BASE=wechat_api.base,
                       ANXIN_WECHAT_POLL_S="0.5")  # fmt: skip
        if telegram and telegram_api is None:
            telegram_api = FakeTelegram(TELEGRAM_TOKEN).start()
            fakes.callback(telegram_api.stop)
        if telegram:
            assert telegram_api is not None
            env.update(ANXIN_TELEGRAM_TOKEN=TELEGRAM_TOKEN, ANXIN_TELEGRAM_SECRET=TELEGRAM_SECRET,
                       ANXIN_TELEGRAM_API_BASE=telegram_api.api_base,
                       ANXIN_TELEGRAM_RETRY_S="1", ANXIN_TELEGRAM_OUTBOX_S="0.5")  # fmt: skip
        asked_before = len(telegram_api.sent("getMe")) if telegram_api is not None else 0
        proc, env, out = start(tmp, **env)
        try:
            port = int(env["ANXIN_RASA_PORT"])
            try:
                rasa_ready(port, proc)
            except AssertionError:
                raise AssertionError(out.text[-4000:]) from None
            if telegram_api is not None:  # the channel knows its bot once getMe was answered
                telegram_api.wait_for(lambda calls: len(calls) > asked_before, method="getMe",
                                      timeout=60)  # fmt: skip
            # The first turn loads what Rasa loads lazily: slow, and WeChat waits only 5 s.
            post(port, "warm-up", "你们都有啥服务")
            db_url = env.get("ANXIN_DB_URL") or f"sqlite:///{tmp / 'var' / 'anxin.db'}"
            care = stack_care(db_url, env)  # on its clock
            try:
                yield ChannelStack(port, care, out, wechat_api, telegram_api, proc,
                                   int(env["ANXIN_STAFF_PORT"]), env)  # fmt: skip
            finally:
                care.close()
        finally:
            stop(proc, out)


# WeChat --------------------------------------------------------------------------------

MSG_IDS = itertools.count(1_000_000)


def content(body: str) -> str:
    return str(xmltodict.parse(body)["xml"]["Content"])


class Elder:
    """One WeChat user talking to the account; every reply must come within 5 s."""

    def __init__(self, stack: ChannelStack, openid: str, safe: bool = False) -> None:
        assert stack.wechat_api is not None, "a stack without the WeChat channel"
        self.stack, self.api, self.openid = stack, stack.wechat_api, openid
        self.wechat = WeChatServer(stack.wechat_url, safe=safe)
        # A MsgId is unique per account: a reused one is (rightly) taken for a retry.
        self.msg_id = next(MSG_IDS) * 1000

    def post(
        self, text: str, msg_id: int | None = None, args: Optional[dict[str, str]] = None
    ) -> str:
        """WeChat's raw answer: the passive reply's text, or "" for `success`. ``args``:
        the signed query string, when WeChat retries with the same one."""
        if msg_id is None:
            self.msg_id += 1
            msg_id = self.msg_id
        status, body, took = self.wechat.post(text_xml(self.openid, text, msg_id), args)
        assert status == 200 and took < 5, (status, took)
        return "" if body == "success" else content(body)

    def says(self, text: str, msg_id: int | None = None) -> str:
        """What the elder reads: the passive reply, or (a slow turn) what the API brought."""
        before = len(self.api.texts_to(self.openid))
        passive = self.post(text, msg_id)
        if passive:
            return passive
        return "\n\n".join(self.api.wait_for_texts(self.openid, before + 1)[before:])


# Telegram ------------------------------------------------------------------------------

_update_ids = itertools.count(1000)


class Person:
    """Someone on Telegram: sends updates the way Telegram does, reads the fake API."""

    def __init__(self, stack: ChannelStack, chat_id: int, language_code: str = "en") -> None:
        assert stack.telegram_api is not None, "a stack without the Telegram channel"
        self.stack, self.api = stack, stack.telegram_api
        self.chat_id, self.language_code = chat_id, language_code
        self.seen = 0
        self.last: list[Call] = []
        self.pressed: list[str] = []  # callback query ids of the buttons tapped, in order

    def _from(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": "Tester",
                "language_code": self.language_code}  # fmt: skip

    def sent_at(self) -> int:
        """Telegram's "date" of an update: now on the stack's clock."""
        return int(self.stack.care.clock().timestamp())

    def message(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(_update_ids),
            "date": self.sent_at(),
            "chat": {"id": self.chat_id, "type": "private", "first_name": "Tester"},
            "from": self._from(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(_update_ids), "message": message}

    def tap_update(self, data: str) -> dict[str, Any]:
        return {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": self._from(),
                "chat_instance": "ci-1",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": self.sent_at(),
                    "chat": {"id": self.chat_id, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Anxin"},
                    "text": "…",
                },
            },
        }

    def send(self, update: dict[str, Any]) -> str:
        assert self.stack.post_telegram(json.dumps(update).encode()) == 200
        return self.replies()

    def say(self, text: str) -> str:
        return self.send(self.message(text))

    def tap(self, title_part: str) -> str:
        """Tap the button of the latest replies whose title contains ``title_part``."""
        buttons = [b for c in self.last for b in c.buttons]
        [button] = [b for b in buttons if title_part in b["text"]] or [None]
        assert button is not None, f"no {title_part!r} in {[b['text'] for b in buttons]}"
        update = self.tap_update(button["callback_data"])
        self.pressed.append(update["callback_query"]["id"])
        return self.send(update)

    def replies(self, quiet_s: float = 1.2, timeout: float = 60) -> str:
        """The replies to this chat since the last look, once they stop coming."""
        self.api.wait_for(lambda calls: len(calls) > self.seen, timeout, chat_id=self.chat_id)
        count = -1
        while count != len(self.api.sent(chat_id=self.chat_id)):
            count = len(self.api.sent(chat_id=self.chat_id))
            time.sleep(quiet_s)
        self.last = self.api.sent(chat_id=self.chat_id)[self.seen :]
        self.seen = count
        return " ".join(c.text for c in self.last)
