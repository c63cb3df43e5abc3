"""Telegram's Bot API for the tests: the bench's fake (anxin/bench/telegram_fake.py), which
``anxin bench fuzz`` starts too, so it lives where a bench can import it."""

from anxin.bench.telegram_fake import BOT_ID, MAX_DOWNLOAD, Call, FakeTelegram

__all__ = ["BOT_ID", "MAX_DOWNLOAD", "Call", "FakeTelegram"]
