"""What each role sees of people's data: volunteers get names and times, not contact or health.

Masking happens here, on the server, before anything is rendered or serialised;
a volunteer's browser never receives the real values.
"""

from __future__ import annotations

from typing import Any

from care.records import AlertRecord, BookingRecord, PersonRecord

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
    }
