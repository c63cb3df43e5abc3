"""WeChat XML: verify and decode a callback, parse and map it, render replies.

Pure functions (no I/O), so every step is tested with fixed vectors and fuzzed.
Receive order: verify → decode → parse → map; a failure raises ``Rejected`` with the
HTTP status to answer (403 for anything unauthenticated, 400 for a malformed body).

A signature is accepted only while its timestamp is within ``WINDOW_S`` (5 minutes)
of now, either way: an old logged URL is refused. Within the window, a signed query
string serves one message only (care/nonces.py, checked by the channel once the body
is read).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from care.nonces import WINDOW_S
from care.text_clean import clean_text
from channels.limits import ascii_digits

MAX_NONCE = 64  # WeChat's nonces are about ten digits

# WeChat's limit for one text message (customer-service API and passive replies).
TEXT_LIMIT_BYTES = 2048

# Menu CLICK keys (anxin wechat menu) → the Rasa intent message each one sends.
MENU_INTENTS = {
    "BOOK_MEAL": "/book_meal",
    "BOOK_DAY_CARE": "/book_day_care",
    "BOOK_CLINIC": "/book_clinic",
    "COMPANION_CALL": "/book_companion_call",
    "MY_BOOKINGS": "/list_bookings",
}


class Rejected(Exception):
    """The request is answered with ``status`` and nothing reaches Rasa."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    """One WeChat message or event, reduced to what the channel acts on.

    ``kind``: text (a Rasa turn; ``text`` may be an intent such as ``/book_meal``),
    voice (no transcript yet), location, subscribe, unsubscribe, other (image, video,
    link, file, an event we do not act on).
    """

    kind: str
    openid: str
    account: str  # ToUserName: our official account, the source of a passive reply
    key: str  # deduplication key: MsgId, or FromUserName + CreateTime for events
    text: str = ""
    media_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def verify_get(token: str, args: Mapping[str, str], now: Optional[float] = None) -> str:
    """URL verification: the echostr to send back when the signature is WeChat's."""
    _check(token, args, now)
    return str(args.get("echostr", ""))


def signed_at(args: Mapping[str, str]) -> tuple[int, str]:
    """The (timestamp, nonce) a checked query string was signed with."""
    return int(args["timestamp"]), args["nonce"]


def _check(token: str, args: Mapping[str, str], now: Optional[float] = None) -> None:
    signature, timestamp, nonce = (args.get(k) or "" for k in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        raise Rejected(403, "unsigned")
    if not ascii_digits(timestamp) or len(timestamp) > 12 or len(nonce) > MAX_NONCE:
        raise Rejected(403, "malformed timestamp or nonce")
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Rejected(403, "bad signature") from None
    # After the signature: an unsigned request learns nothing about our clock.
    if abs(int(timestamp) - (time.time() if now is None else now)) > WINDOW_S:
        raise Rejected(403, "timestamp outside the 5-minute window")


def decode(
    token: str,
    args: Mapping[str, str],
    body: bytes,
    crypto: Optional[WeChatCrypto],
    now: Optional[float] = None,
) -> tuple[str, bool]:
    """The plaintext XML of a POST, and whether it came encrypted (safe mode)."""
    _check(token, args, now)
    if args.get("encrypt_type", "raw") != "aes":
        return _text(body), False
    if crypto is None:
        raise Rejected(403, "encrypted message but no EncodingAESKey configured")
    envelope = _xml(_text(body))
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise Rejected(400, "no Encrypt element")
    msg_signature = args.get("msg_signature") or ""
    try:
        return crypto.decrypt_message(
            {"Encrypt": encrypted}, msg_signature, args["timestamp"], args["nonce"]
        ), True
    except InvalidSignatureException:
        raise Rejected(403, "bad msg_signature") from None
    except InvalidAppIdException:
        raise Rejected(403, "another AppID") from None
    except Exception:  # base64, padding, length: a signed body that is not WeChat's cipher
        raise Rejected(400, "undecryptable") from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "not UTF-8") from None


def _xml(text: str) -> dict[str, Any]:
    try:
        doc = xmltodict.parse(text)
    except (ExpatError, ValueError, TypeError):
        raise Rejected(400, "malformed XML") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise Rejected(400, "no <xml> root")
    return root


_REQUIRED = ("FromUserName", "ToUserName", "MsgType", "CreateTime")


def parse(xml: str) -> Incoming:
    """Parse a decoded message and map it to an ``Incoming``; 400 when it is not WeChat's."""
    root = _xml(xml)
    # Text elements only: some events carry nested ones (ScanCodeInfo ...) we do not use.
    fields = {k: ("" if v is None else v) for k, v in root.items()}
    fields = {k: v for k, v in fields.items() if isinstance(v, str)}
    if any(not fields.get(k) for k in _REQUIRED):
        raise Rejected(400, "missing a required element")
    if not ascii_digits(fields["CreateTime"]):
        raise Rejected(400, "CreateTime is not a number")
    msg_type = fields["MsgType"].lower()
    if msg_type != "event" and not ascii_digits(fields.get("MsgId", "")):
        raise Rejected(400, "a message without a numeric MsgId")
    try:
        message = parse_message(xml)  # wechatpy's own types for the known messages
    except Exception:
        raise Rejected(400, "unparseable") from None
    return _map(message.type, fields)


def _map(wechat_type: str, f: dict[str, str]) -> Incoming:
    openid, account = f["FromUserName"], f["ToUserName"]
    base: dict[str, Any] = {"openid": openid, "account": account}
    if f["MsgType"].lower() == "event":
        event = f.get("Event", "").lower()
        key = f"ev:{openid}:{f['CreateTime']}"
        base["key"] = key
        if event == "subscribe":
            return Incoming("subscribe", **base)
        if event == "unsubscribe":
            return Incoming("unsubscribe", **base)
        if event == "click" and f.get("EventKey") in MENU_INTENTS:
            return Incoming("text", text=MENU_INTENTS[f["EventKey"]], **base)
        return Incoming("other", extra={"event": event}, **base)
    base["key"] = f"msg:{f['MsgId']}"
    # What the person wrote (or WeChat heard) is cleaned before anything reads it:
    # control characters and bidi overrides would reach the NLU and the staff console.
    if wechat_type == "text":
        return Incoming("text", text=clean_text(f.get("Content", "")), **base)
    if wechat_type == "voice":
        heard = clean_text(f.get("Recognition", ""))
        if heard:
            return Incoming("text", text=heard, media_id=f.get("MediaId", ""), **base)
        voice = {"format": f.get("Format", "")}
        return Incoming("voice", media_id=f.get("MediaId", ""), extra=voice, **base)
    if wechat_type == "location":
        extra = {
            "label": f.get("Label", ""),
            "latitude": f.get("Location_X", ""),
            "longitude": f.get("Location_Y", ""),
        }
        return Incoming("location", extra=extra, **base)
    return Incoming("other", extra={"type": f["MsgType"].lower()}, **base)


# Rendering ----------------------------------------------------------------------

_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """Text that survives inside a CDATA section of WeChat's XML."""
    return _XML_UNSAFE.sub("", text).replace("]]>", "]] >")


def passive_reply(incoming: Incoming, text: str) -> str:
    """The XML of a passive text reply (to be encrypted in safe mode)."""
    reply = TextReply(source=incoming.account, target=incoming.openid, content=clean(text))
    return str(reply.render())


def render_buttons(buttons: list[dict[str, Any]]) -> str:
    """Rasa buttons as numbered choices: "1. 在食堂吃  2. 送到家" (answered by number)."""
    titles = []
    for i, button in enumerate(buttons, 1):
        title = str(button.get("title") or "").strip()
        numbered = re.match(rf"{i}\s*[.、．]", title)
        titles.append(title if numbered else f"{i}. {title}")
    if sum(len(t) for t in titles) <= 30:
        return "  ".join(titles)
    return "\n".join(titles)


def render_messages(messages: list[dict[str, Any]]) -> list[str]:
    """What Rasa said (a collecting channel's messages) as plain texts, in order."""
    texts: list[str] = []
    for message in messages:
        parts = [str(message.get("text") or "").strip()]
        if message.get("buttons"):
            parts.append(render_buttons(message["buttons"]))
        if message.get("image"):
            parts.append(str(message["image"]))
        if message.get("attachment"):
            parts.append(str(message["attachment"]))
        text = "\n".join(p for p in parts if p)
        if text:
            texts.append(text)
    return texts


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at a line break or space when possible."""
    pieces: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        cut = _fit(rest, limit)
        for sep in ("\n", " ", "。", "，", ". "):
            at = rest.rfind(sep, 0, cut)
            if at > cut // 2:
                cut = at + len(sep)
                break
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _fit(text: str, limit: int) -> int:
    """The longest prefix (in characters) whose UTF-8 encoding fits ``limit`` bytes."""
    size = 0
    for i, ch in enumerate(text):
        size += len(ch.encode("utf-8"))
        if size > limit:
            return max(i, 1)
    return len(text)


def pack(texts: list[str], limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Bot messages as platform messages: joined while they fit, split when one is too long."""
    out: list[str] = []
    for text in texts:
        for piece in split_text(text, limit):
            joined = f"{out[-1]}\n\n{piece}" if out else piece
            if out and len(joined.encode("utf-8")) <= limit:
                out[-1] = joined
            else:
                out.append(piece)
    return out
