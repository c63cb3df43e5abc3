"""Signed callbacks used once: WeChat's ``(timestamp, nonce)`` remembered across processes.

WeChat signs a callback's query string (token, timestamp, nonce), not its body. A
logged URL could otherwise be replayed with any body, as any user. The channel accepts
a timestamp only within ``WINDOW_S`` of now (channels/wechat_xml.py) and remembers each
pair here for as long as its timestamp stays acceptable, with the message it carried
(a digest of FromUserName and the message key). WeChat's own retries (up to three, when
the answer is slow) send the same query string with the same message: they are let
through, to be answered once by MsgId as before. The same pair with another message is
a replay. One INSERT under a unique constraint decides, in any process or replica.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from care.db import Database
from care.models_channels import WeChatNonce

# WeChat's timestamps within this many seconds of now, either way, are accepted.
WINDOW_S = 300


def message_digest(openid: str, key: str) -> str:
    """What a signed callback carried, as the nonce's row remembers it."""
    return hashlib.sha256(f"{openid}\x00{key}".encode("utf-8", "surrogatepass")).hexdigest()


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


class Nonces:
    def __init__(self, db: Database) -> None:
        self.db = db

    def first_use(self, timestamp: int, nonce: str, message: str) -> bool:
        """True the first time a pair is seen, and again for the same message (WeChat's
        retry); False when the pair already signed another message (a replay)."""
        try:
            with self.db.write() as s:
                s.add(
                    WeChatNonce(
                        timestamp=timestamp,
                        nonce=nonce,
                        message=message,
                        expires_at=_at(timestamp + WINDOW_S),
                    )
                )
                s.flush()
            return True
        except IntegrityError:
            pass
        with self.db.read() as s:
            kept = s.execute(
                select(WeChatNonce.message).where(
                    WeChatNonce.timestamp == timestamp, WeChatNonce.nonce == nonce
                )
            ).scalar_one_or_none()
        return kept == message

    def forget(self, now: float) -> int:
        """Drop pairs whose timestamp is no longer accepted anyway."""
        with self.db.write() as s:
            result = s.execute(delete(WeChatNonce).where(WeChatNonce.expires_at < _at(now)))
            return int(result.rowcount or 0)
