"""Who did what, for whom, through which channel: written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import models as m
from care.records import AuditRecord


@dataclass(frozen=True)
class Actor:
    """The one acting: a person (elder or family member), a staff user, or the system."""

    person_id: Optional[int] = None
    staff: Optional[str] = None

    @classmethod
    def person(cls, person_id: int) -> Actor:
        return cls(person_id=person_id)

    @classmethod
    def staff_user(cls, username: str) -> Actor:
        return cls(staff=username)

    @property
    def label(self) -> str:
        if self.person_id is not None:
            return f"person:{self.person_id}"
        if self.staff:
            return f"staff:{self.staff}"
        return "system"


SYSTEM = Actor()


def record(
    session: Session,
    at: datetime,
    actor: Actor | str,
    action: str,
    subject: str,
    channel: Optional[str] = None,
    on_behalf_of: Optional[str] = None,
    detail: Optional[dict[str, Any]] = None,
) -> None:
    session.add(
        m.AuditEntry(
            at=at,
            actor=actor.label if isinstance(actor, Actor) else actor,
            on_behalf_of=on_behalf_of,
            action=action,
            subject=subject,
            channel=channel,
            detail=detail or {},
        )
    )


def entries(
    session: Session, subject: Optional[str] = None, action: Optional[str] = None, limit: int = 200
) -> list[AuditRecord]:
    stmt = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)
    if subject is not None:
        stmt = stmt.where(m.AuditEntry.subject == subject)
    if action is not None:
        stmt = stmt.where(m.AuditEntry.action == action)
    return [AuditRecord.of(row) for row in session.scalars(stmt)]
