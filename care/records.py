"""Plain dataclasses handed out by the domain: no ORM objects leave ``care/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Optional

from care import models as m


@dataclass(frozen=True)
class PersonRecord:
    id: int
    kind: str
    name: str
    preferred_language: str
    phone: Optional[str] = None
    dietary_needs: list[str] = field(default_factory=list)
    mobility_needs: Optional[str] = None
    needs_transport: bool = False
    community: Optional[str] = None
    address: Optional[str] = None
    interests: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, row: m.Person) -> PersonRecord:
        return cls(
            id=row.id,
            kind=row.kind,
            name=row.name,
            preferred_language=row.preferred_language,
            phone=row.phone,
            dietary_needs=list(row.dietary_needs or []),
            mobility_needs=row.mobility_needs,
            needs_transport=bool(row.needs_transport),
            community=row.community,
            address=row.address,
            interests=list(row.interests or []),
        )


@dataclass(frozen=True)
class FamilyLinkRecord:
    id: int
    elder_id: int
    family_id: int
    relation: str
    status: str
    can_book: bool
    can_cancel: bool
    notify: bool
    consented_at: Optional[datetime]
    elder_called: Optional[str] = None

    @classmethod
    def of(cls, row: m.FamilyLink) -> FamilyLinkRecord:
        return cls(
            id=row.id,
            elder_id=row.elder_id,
            family_id=row.family_id,
            relation=row.relation,
            status=row.status,
            can_book=bool(row.can_book),
            can_cancel=bool(row.can_cancel),
            notify=bool(row.notify),
            consented_at=row.consented_at,
            elder_called=row.elder_called,
        )


@dataclass(frozen=True)
class InviteRecord:
    """An invitation code for a family member; ``live(now)`` says whether it still works."""

    id: int
    code: str
    elder_id: int
    created_by: str
    relation_hint: Optional[str]
    created_at: datetime
    expires_at: datetime
    used_at: Optional[datetime]
    used_by_id: Optional[int]

    def live(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    @classmethod
    def of(cls, row: m.LinkInvite) -> InviteRecord:
        return cls(
            id=row.id,
            code=row.code,
            elder_id=row.elder_id,
            created_by=row.created_by,
            relation_hint=row.relation_hint,
            created_at=row.created_at,
            expires_at=row.expires_at,
            used_at=row.used_at,
            used_by_id=row.used_by_id,
        )


@dataclass(frozen=True)
class SlotRecord:
    """A bookable place with what a person needs to hear before saying yes."""

    id: int
    code: str
    service: str
    option: str
    date: date
    starts_at: datetime
    ends_at: datetime
    cutoff_at: datetime
    capacity: int
    used: int
    details: dict[str, Any]

    @property
    def free(self) -> int:
        return self.capacity - self.used

    @classmethod
    def of(cls, row: m.Slot) -> SlotRecord:
        return cls(
            id=row.id,
            code=row.code,
            service=row.service,
            option=row.option,
            date=row.date,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            cutoff_at=row.cutoff_at,
            capacity=row.capacity,
            used=row.used,
            details=slot_details(row),
        )


def slot_details(row: m.Slot) -> dict[str, Any]:
    if row.meal_row is not None:
        meal = row.meal_row
        return {"meal": meal.meal, "menu": meal.menu, "price_yuan": meal.price_yuan}
    if row.day_care_row is not None:
        dc = row.day_care_row
        return {
            "period": dc.period,
            "room": dc.room,
            "room_en": dc.room_en,
            "pickup_points": dc.pickup_points,
        }
    if row.clinic_row is not None:
        cs = row.clinic_row
        return {
            "department": cs.department,
            "department_en": cs.department_en,
            "doctor": cs.doctor,
            "doctor_en": cs.doctor_en,
            "title": cs.title,
            "title_en": cs.title_en,
            "room": cs.room,
            "room_en": cs.room_en,
        }
    if row.volunteer_row is not None:
        v = row.volunteer_row
        return {
            "volunteer_code": v.code,
            "volunteer": v.name,
            "volunteer_en": v.name_en,
            "languages": v.languages,
            "interests": v.interests,
            "interests_en": v.interests_en,
        }
    return {}


@dataclass(frozen=True)
class BookingRecord:
    id: int
    service: str
    elder_id: int
    slot: SlotRecord
    status: str
    quantity: int
    booked_by: str
    channel: str
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    rescheduled_from_id: Optional[int] = None
    replayed: bool = False

    @property
    def date(self) -> date:
        return self.slot.date

    @classmethod
    def of(cls, row: m.Booking, replayed: bool = False) -> BookingRecord:
        return cls(
            id=row.id,
            service=row.service,
            elder_id=row.elder_id,
            slot=SlotRecord.of(row.slot),
            status=row.status,
            quantity=row.quantity,
            booked_by=booker_label(row.booked_by_id, row.booked_by_staff),
            channel=row.channel,
            details=dict(row.details or {}),
            created_at=row.created_at,
            updated_at=row.updated_at,
            rescheduled_from_id=row.rescheduled_from_id,
            replayed=replayed,
        )


def booker_label(person_id: Optional[int], staff: Optional[str]) -> str:
    return f"person:{person_id}" if person_id is not None else f"staff:{staff}"


@dataclass(frozen=True)
class CancelResult:
    booking: BookingRecord
    promoted: list[BookingRecord]


@dataclass(frozen=True)
class RescheduleResult:
    old: BookingRecord
    new: BookingRecord
    promoted: list[BookingRecord]


@dataclass(frozen=True)
class AlertRecord:
    id: int
    kind: str
    status: str
    priority: int
    person_id: Optional[int]
    conversation_id: Optional[str]
    channel: Optional[str]
    summary: str
    created_at: datetime
    assigned_to: Optional[str] = None
    note: Optional[str] = None
    resolved_at: Optional[datetime] = None
    resolved_by: Optional[str] = None
    false_alarm_at: Optional[datetime] = None
    false_alarm_by: Optional[str] = None

    @property
    def false_alarm(self) -> bool:
        return self.false_alarm_at is not None
    due_at: Optional[datetime] = None

    @classmethod
    def of(cls, row: m.Alert) -> AlertRecord:
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            priority=row.priority,
            person_id=row.person_id,
            conversation_id=row.conversation_id,
            channel=row.channel,
            summary=row.summary,
            created_at=row.created_at,
            assigned_to=row.assigned_to,
            note=row.note,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            false_alarm_at=row.false_alarm_at,
            false_alarm_by=row.false_alarm_by,
            due_at=row.due_at,
        )


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    on_behalf_of: Optional[str]
    action: str
    subject: str
    channel: Optional[str]
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: m.AuditEntry) -> AuditRecord:
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            on_behalf_of=row.on_behalf_of,
            action=row.action,
            subject=row.subject,
            channel=row.channel,
            detail=dict(row.detail or {}),
        )
