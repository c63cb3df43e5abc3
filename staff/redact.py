"""What each role sees of people's data: volunteers get names and times, not contact or health.

Masking happens here, on the server, before anything is rendered or serialised;
a volunteer's browser never receives the real values.
"""

from __future__ import annotations

from typing import Any

from care.conversations import Conversation, Turn
from care.records import AlertRecord, BookingRecord, PersonRecord
from care.staff_people import IdentityView, LinkView

MASK = "***"


def sees_everything(role: str) -> bool:
    return role in ("admin", "staff")


def mask_phone(phone: str | None) -> str | None:
    # The last two digits let a volunteer tell "the number ending 78" apart, nothing more.
    if not phone:
        return phone
    return MASK + phone[-2:] if len(phone) > 4 else MASK


def elder(person: PersonRecord, role: str) -> dict[str, Any]:
    full = sees_everything(role)
    return {
        "id": person.id,
        "name": person.name,
        "preferred_language": person.preferred_language,
        "community": person.community,
        "needs_transport": person.needs_transport,
        "phone": person.phone if full else mask_phone(person.phone),
        "address": person.address if full else (MASK if person.address else None),
        # Health notes: diet (diabetic, low salt ...) and mobility.
        "dietary_needs": person.dietary_needs if full else ([MASK] if person.dietary_needs else []),
        "mobility_needs": person.mobility_needs
        if full
        else (MASK if person.mobility_needs else None),
        "interests": person.interests,
    }


def booking(b: BookingRecord, role: str) -> dict[str, Any]:
    return {
        "id": b.id,
        "elder_id": b.elder_id,
        "service": b.service,
        "date": b.slot.date.isoformat(),
        "slot": b.slot.code,
        "slot_id": b.slot.id,
        "option": b.slot.option,
        "starts_at": b.slot.starts_at.isoformat(),
        "ends_at": b.slot.ends_at.isoformat(),
        "status": b.status,
        "quantity": b.quantity,
        "booked_by": b.booked_by,
        "channel": b.channel,
        "created_at": b.created_at.isoformat(),
        "updated_at": b.updated_at.isoformat(),
        # Details carry diet notes and pickup addresses.
        "details": b.details if sees_everything(role) else {},
    }


def identity(i: IdentityView, role: str) -> dict[str, Any]:
    """A channel identity: WeChat openids and Telegram ids reach the person, so staff only."""
    full = sees_everything(role)
    return {
        "channel": i.channel,
        "external_id": i.external_id if full else mask_id(i.external_id),
        "created_at": i.created_at.isoformat(),
    }


def mask_id(value: str) -> str:
    # Enough to tell two accounts of one person apart on the phone, not to reach them.
    return MASK + value[-2:] if len(value) > 6 else MASK


def family_link(link: LinkView, role: str) -> dict[str, Any]:
    """Names and states for everyone; the reason for an ending (family matters) staff only."""
    full = sees_everything(role)
    return {
        "id": link.id,
        "family_id": link.family_id,
        "family_name": link.family_name,
        "relation": link.relation,
        "status": link.status,
        "created_at": link.created_at.isoformat(),
        "consented_at": link.consented_at.isoformat() if link.consented_at else None,
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
        "decided_by": link.decided_by,
        "decided_at": link.decided_at.isoformat() if link.decided_at else None,
        "reason": link.reason if full else (MASK if link.reason else None),
    }


def alert(a: AlertRecord, role: str) -> dict[str, Any]:
    full = sees_everything(role)
    return {
        "id": a.id,
        "kind": a.kind,
        "status": a.status,
        "priority": a.priority,
        "person_id": a.person_id,
        "conversation_id": a.conversation_id if full else None,
        "channel": a.channel,
        # A summary quotes what the person said (symptoms, despair): staff only.
        "summary": a.summary if full else MASK,
        "created_at": a.created_at.isoformat(),
        "assigned_to": a.assigned_to,
        "note": a.note if full else (MASK if a.note else None),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "resolved_by": a.resolved_by,
        # Staff said it was a false alarm (who and when): a fact about the alarm, not the person.
        "false_alarm": a.false_alarm,
        "false_alarm_at": a.false_alarm_at.isoformat() if a.false_alarm_at else None,
        "false_alarm_by": a.false_alarm_by,
    }


def conversation_summary(c: Conversation, role: str, threshold: float) -> dict[str, Any]:
    """One row of the conversation list: who, when, where, what about — no words."""
    turns = c.user_turns
    return {
        "id": c.id,
        "person_id": c.person_id,
        "person_name": c.person_name,
        "channels": c.channels,
        "languages": c.languages,
        "intents": c.intents,
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "last_at": c.last_at.isoformat() if c.last_at else None,
        "messages": len(turns),
        "sessions": len(c.sessions),
        "handed_off": c.handed_off,
        "has_alert": c.has_alert,
        "low_confidence_turns": c.low_confidence_turns(threshold),
        "bookings": sorted({b.id for t in c.turns for b in t.bookings}),
    }


def conversation(c: Conversation, role: str, threshold: float) -> dict[str, Any]:
    """Every turn. Volunteers get what happened, not what was said: people's words quote
    addresses, phone numbers and symptoms, and the assistant's replies read them back."""
    full = sees_everything(role)
    return {
        **conversation_summary(c, role, threshold),
        "redacted": not full,
        "sessions": [
            {
                "started_at": s.started_at.isoformat(),
                "turns": [_turn(t, full, threshold) for t in s.turns],
            }
            for s in c.sessions
        ],
    }


def _turn(t: Turn, full: bool, threshold: float) -> dict[str, Any]:
    return {
        "event_id": t.event_id,
        "at": t.at.isoformat(),
        "channel": t.channel,
        "text": t.text if full or t.text is None else MASK,
        "language": t.language,
        "intent": t.intent,
        "confidence": round(t.confidence, 4) if t.confidence is not None else None,
        "low_confidence": t.low_confidence(threshold),
        "entities": t.entities if full else [{**e, "value": MASK} for e in t.entities],
        "replies": t.replies if full else [MASK for _ in t.replies],
        "staff_replies": t.staff_replies
        if full
        else [{"by": r["by"], "text": MASK} for r in t.staff_replies],
        "actions": t.actions,
        "slots": t.slots if full else {},
        "handed_off": t.handed_off,
        "bookings": [
            {
                "id": b.id,
                "service": b.service,
                "slot": b.slot,
                "date": b.date,
                "status": b.status,
                "change": b.change,
            }
            for b in t.bookings
        ],  # fmt: skip
        "correction": t.correction,
    }
