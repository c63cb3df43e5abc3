"""Channel settings, read from the environment once per Rasa process.

A channel whose credentials are not set is not started (``anxin run`` leaves it out of
the credentials file it hands Rasa). Secrets only ever come from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping, Optional


def _env(environ: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if environ is None else environ


@dataclass(frozen=True)
class WeChatSettings:
    token: str  # the URL-verification token set in the official account's console
    app_id: str
    app_secret: str
    aes_key: Optional[str] = None  # EncodingAESKey: safe mode (encrypted bodies) when set
    api_base: str = "https://api.weixin.qq.com"
    # WeChat gives up after 5 s; answer passively only when the turn ends well before.
    passive_deadline_s: float = 3.5
    # How often the channel delivers the outbox and retries messages it could not answer.
    poll_s: float = 5.0

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Optional[WeChatSettings]:
        env = _env(environ)
        if not env.get("ANXIN_WECHAT_TOKEN"):
            return None
        missing = [k for k in ("ANXIN_WECHAT_APPID", "ANXIN_WECHAT_SECRET") if not env.get(k)]
        if missing:
            raise SystemExit(f"ANXIN_WECHAT_TOKEN is set but {', '.join(missing)} is not")
        return cls(
            token=env["ANXIN_WECHAT_TOKEN"],
            app_id=env["ANXIN_WECHAT_APPID"],
            app_secret=env["ANXIN_WECHAT_SECRET"],
            aes_key=env.get("ANXIN_WECHAT_AES_KEY") or None,
            api_base=env.get("ANXIN_WECHAT_API_BASE", cls.api_base).rstrip("/"),
            passive_deadline_s=float(env.get("ANXIN_WECHAT_PASSIVE_S", cls.passive_deadline_s)),
            poll_s=float(env.get("ANXIN_WECHAT_POLL_S", cls.poll_s)),
        )


@dataclass(frozen=True)
class TelegramSettings:
    bot_token: str
    # Sent back by Telegram in X-Telegram-Bot-Api-Secret-Token; required for webhooks.
    webhook_secret: Optional[str] = None
    # python-telegram-bot's base_url / base_file_url: a local fake Bot API in tests.
    api_base: str = "https://api.telegram.org/bot"
    file_base: str = "https://api.telegram.org/file/bot"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Optional[TelegramSettings]:
        env = _env(environ)
        if not env.get("ANXIN_TELEGRAM_TOKEN"):
            return None
        return cls(
            bot_token=env["ANXIN_TELEGRAM_TOKEN"],
            webhook_secret=env.get("ANXIN_TELEGRAM_SECRET") or None,
            api_base=env.get("ANXIN_TELEGRAM_API_BASE", cls.api_base),
            file_base=env.get("ANXIN_TELEGRAM_FILE_BASE", cls.file_base),
        )


@dataclass(frozen=True)
class AudioSocketSettings:
    """The telephony bridge (channels/audiosocket.py), off unless a port is set."""

    port: int
    host: str = "127.0.0.1"  # Asterisk on the same machine; a LAN address to reach further
    secret: Optional[str] = None  # for the dialplan's caller registration; none: refused
    country: str = "86"  # country code: "+86 138…" and "138…" in a profile are one number
    # With several Rasa processes the dialplan's registration and the call may reach
    # different ones: registrations then wait in Redis (ANXIN_REDIS_URL).
    redis_url: Optional[str] = None
    redis_prefix: str = "anxin"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Optional[AudioSocketSettings]:
        env = _env(environ)
        raw = env.get("ANXIN_AUDIOSOCKET_PORT", "").strip()
        if not raw:
            return None
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise SystemExit(f"ANXIN_AUDIOSOCKET_PORT={raw!r} is not a TCP port")
        country = env.get("ANXIN_PHONE_COUNTRY", cls.country).strip().lstrip("+")
        if not country.isdigit():
            raise SystemExit(f"ANXIN_PHONE_COUNTRY={country!r} is not a country code")
        return cls(
            port=int(raw),
            host=env.get("ANXIN_AUDIOSOCKET_HOST", cls.host).strip() or cls.host,
            secret=env.get("ANXIN_AUDIOSOCKET_SECRET") or None,
            country=country,
            redis_url=env.get("ANXIN_REDIS_URL") or None,
            redis_prefix=env.get("ANXIN_REDIS_PREFIX") or cls.redis_prefix,
        )


# The Rasa channels ``anxin run`` registers, each when its settings are present.
CHANNELS: dict[str, Callable[[Optional[Mapping[str, str]]], object]] = {
    "channels.wechat.WeChatInput": WeChatSettings.from_env,
    "channels.telegram.TelegramInput": TelegramSettings.from_env,
}


def enabled_channels(environ: Optional[Mapping[str, str]] = None) -> list[str]:
    return [path for path, settings in CHANNELS.items() if settings(environ) is not None]
