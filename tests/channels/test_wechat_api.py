"""The API client against a fake WeChat API on loopback: token cache, refetch, limits, menu."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from care import migrate
from care.config import CareSettings
from care.services import CareServices, build
from channels.config import WeChatSettings
from channels.wechat_api import MENU, WeChatAPI, WeChatAPIError
from tests.channels.wechat_fakes import APP_ID, SECRET, TOKEN, FakeWeChatAPI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI() as api:
        yield api


@pytest.fixture
def care(tmp_path) -> Iterator[CareServices]:
    services = build(CareSettings(db_url=f"sqlite:///{tmp_path / 'anxin.db'}"))
    migrate.upgrade(services.db)
    yield services
    services.close()


def settings(fake: FakeWeChatAPI, **overrides: str) -> WeChatSettings:
    env = {
        "ANXIN_WECHAT_TOKEN": TOKEN,
        "ANXIN_WECHAT_APPID": APP_ID,
        "ANXIN_WECHAT_SECRET": SECRET,
        "ANXIN_WECHAT_API_BASE": fake.base,
        **overrides,
    }
    result = WeChatSettings.from_env(env)
    assert result is not None
    return result


async def test_the_token_is_fetched_once_and_shared_through_the_database(fake, care):
    first, second = (
        WeChatAPI(settings(fake), care.channels),
        WeChatAPI(settings(fake), care.channels),
    )
    try:
        await first.send_text("oA", "你好")
        await second.send_text("oB", "您好")  # "another process": same database, no new fetch
        assert fake.token_requests == 1
        assert fake.texts_to("oA") == ["你好"] and fake.texts_to("oB") == ["您好"]

        fake.expire_tokens()  # WeChat says 40001: fetched again once, and the send goes out
        await second.send_text("oA", "再见")
        assert fake.token_requests == 2 and fake.texts_to("oA") == ["你好", "再见"]
        assert await first.access_token() == "ACCESS_TOKEN_2"  # the refreshed one is shared
    finally:
        await first.close()
        await second.close()


async def test_a_wrong_secret_and_a_failed_send_are_errors_not_silence(fake, care):
    api = WeChatAPI(settings(fake, ANXIN_WECHAT_SECRET="wrong"), care.channels)
    with pytest.raises(WeChatAPIError) as err:
        await api.send_text("oA", "你好")
    assert err.value.errcode == 40125
    await api.close()

    api = WeChatAPI(settings(fake), care.channels)
    fake.fail_sends = 1
    with pytest.raises(WeChatAPIError):
        await api.send_text("oA", "你好")
    await api.close()


async def test_long_text_goes_out_in_pieces_wechat_accepts(fake, care):
    api = WeChatAPI(settings(fake), care.channels)
    text = "\n".join(
        f"{i}. 今天午饭：红烧肉、小鸡炖蘑菇、酸菜白肉、米饭、小米粥" for i in range(120)
    )
    try:
        assert await api.send_text("oLong", text) > 1
    finally:
        await api.close()
    sent = fake.texts_to("oLong")
    assert "\n".join(sent) == text  # cut at line breaks, nothing lost (the fake refuses >2048 B)


async def test_menu_and_media(fake, care):
    api = WeChatAPI(settings(fake), care.channels)
    try:
        await api.create_menu()
        assert fake.menus == [MENU]
        assert await api.download_media("media-voice-1") == b"#!AMR\n fake amr bytes"
        with pytest.raises(WeChatAPIError) as err:
            await api.download_media("nope")
        assert err.value.errcode == 40007
    finally:
        await api.close()


def test_anxin_wechat_menu_creates_the_menu(fake, tmp_path):
    env = {
        **os.environ,
        "ANXIN_DB_URL": f"sqlite:///{tmp_path / 'menu.db'}",
        "ANXIN_WECHAT_TOKEN": TOKEN,
        "ANXIN_WECHAT_APPID": APP_ID,
        "ANXIN_WECHAT_SECRET": SECRET,
        "ANXIN_WECHAT_API_BASE": fake.base,
    }
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "wechat", "menu"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "订餐" in done.stdout
    [menu] = fake.menus
    names = [b["name"] for b in menu["button"]] + [
        s["name"] for b in menu["button"] for s in b.get("sub_button", [])
    ]
    assert sorted(names) == sorted(["订餐", "预约", "我的预约", "日托", "看病", "陪我聊聊"])

    # A fresh database (no cached token) and a wrong secret: one line, exit code 1.
    env.update(ANXIN_WECHAT_SECRET="wrong", ANXIN_DB_URL=f"sqlite:///{tmp_path / 'other.db'}")
    failed = subprocess.run(
        [sys.executable, "-m", "anxin", "wechat", "menu"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1 and "40125" in failed.stderr
    assert "Traceback" not in failed.stderr
