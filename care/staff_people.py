"""What the console reads about an elder's people and moods: channel identities, family
links with who decided them, the elder's recent moods, and the centre's low-mood trend.

Read-only; callers audit what they show and mask it per role (staff/redact.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Optional

from sqlalchemy import func, select

from care import models as m
from care.clock import Clock
from care.comfort import ALERT_AFTER, LOW_MOODS, WINDOW
from care.db import Database
from care.people import get_elder

# What ends a link's pending or active state, and who said yes (see care.people).
DECISIONS = ("family_link.consent", "family_link.revoke", "family_link.decline")
MOOD_DAYS = 30
TREND_DAYS = 14


@dataclass(frozen=True)
class IdentityView:
    channel: str
    external_id: str
    created_at: datetime


@dataclass(frozen=True)
class LinkView:
    """One family link as staff see it; ``decided_*`` is the last consent or revocation."""

    id: int
    family_id: int
    family_name: str
    family_language: str
    relation: str
    status: str
    created_at: datetime
    consented_at: Optional[datetime]
    revoked_at: Optional[datetime]
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    reason: Optional[str] = None


@dataclass(frozen=True)
class MoodDay:
    day: date
    lonely: int = 0
    sad: int = 0
    ok: int = 0

    @property
    def low(self) -> int:
        return self.lonely + self.sad


class StaffPeople:
    def __init__(self, db: Database, clock: Clock, tz: tzinfo) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz

    def identities(self, elder_id: int) -> list[IdentityView]:
        with self.db.read() as s:
            get_elder(s, elder_id)
            rows = s.scalars(
                select(m.ChannelIdentity)
                .where(m.ChannelIdentity.person_id == elder_id)
                .order_by(m.ChannelIdentity.id)
            )
            return [IdentityView(r.channel, r.external_id, r.created_at) for r in rows]

    def links(self, elder_id: int) -> list[LinkView]:
        """Every link of the elder, oldest first, each with its latest decision."""
        with self.db.read() as s:
            elder = get_elder(s, elder_id)
            rows = s.execute(
                select(m.FamilyLink, m.Person)
                .join(m.Person, m.Person.id == m.FamilyLink.family_id)
                .where(m.FamilyLink.elder_id == elder_id)
                .order_by(m.FamilyLink.id)
            ).all()
            if not rows:
                return []
            subjects = {f"family_link:{link.id}": link.id for link, _ in rows}
            since = min(link.created_at for link, _ in rows)
            # "at >= since" lets the audit log's time index narrow the search.
            entries = s.scalars(
                select(m.AuditEntry)
                .where(
                    m.AuditEntry.at >= since,
                    m.AuditEntry.subject.in_(subjects),
                    m.AuditEntry.action.in_(DECISIONS),
                )
                .order_by(m.AuditEntry.id)
            )
            latest = {subjects[e.subject]: e for e in entries}  # later rows win
            names = {elder.id: elder.name, **{p.id: p.name for _, p in rows}}
            views = []
            for link, person in rows:
                decision = latest.get(link.id)
                views.append(
                    LinkView(
                        id=link.id,
                        family_id=person.id,
                        family_name=person.name,
                        family_language=person.preferred_language,
                        relation=link.relation,
                        status=link.status,
                        created_at=link.created_at,
                        consented_at=link.consented_at,
                        revoked_at=link.revoked_at,
                        decided_by=_who(decision.actor, names) if decision else None,
                        decided_at=decision.at if decision else None,
                        reason=(decision.detail or {}).get("reason") if decision else None,
                    )
                )
            return views

    def pending_links(self) -> dict[int, int]:
        """Elders with link requests waiting for a yes: elder id to how many."""
        with self.db.read() as s:
            return {
                int(elder_id): int(count)
                for elder_id, count in s.execute(
                    select(m.FamilyLink.elder_id, func.count())
                    .where(m.FamilyLink.status == "pending")
                    .group_by(m.FamilyLink.elder_id)
                )
            }

    def moods(self, elder_id: int, days: int = MOOD_DAYS) -> list[MoodDay]:
        """The elder's moods per local day, the last ``days`` days, only days with entries."""
        since = self._start(days)
        with self.db.read() as s:
            get_elder(s, elder_id)
            rows = s.execute(
                select(m.MoodEntry.mood, m.MoodEntry.created_at).where(
                    m.MoodEntry.person_id == elder_id, m.MoodEntry.created_at >= since
                )
            ).all()
        counts: dict[date, dict[str, int]] = {}
        for mood, at in rows:
            day = counts.setdefault(at.astimezone(self.tz).date(), {})
            day[mood] = day.get(mood, 0) + 1
        return [MoodDay(d, **counts[d]) for d in sorted(counts, reverse=True)]

    def low_mood_trend(self, days: int = TREND_DAYS) -> list[MoodDay]:
        """Low moods (lonely, sad) of everyone per local day, oldest first, zeros included."""
        since = self._start(days)
        with self.db.read() as s:
            rows = s.execute(
                select(m.MoodEntry.mood, m.MoodEntry.created_at).where(
                    m.MoodEntry.mood.in_(LOW_MOODS), m.MoodEntry.created_at >= since
                )
            ).all()
        first = since.astimezone(self.tz).date()
        counts = {first + timedelta(days=i): {"lonely": 0, "sad": 0} for i in range(days)}
        for mood, at in rows:
            day = counts.get(at.astimezone(self.tz).date())
            if day is not None:
                day[mood] += 1
        return [MoodDay(d, **c) for d, c in counts.items()]

    def at_risk(self) -> int:
        """People with ``ALERT_AFTER`` or more low moods in the last week (care.comfort's rule):
        known people by person, people not yet registered by conversation."""
        since = self.clock() - WINDOW
        low = (m.MoodEntry.mood.in_(LOW_MOODS), m.MoodEntry.created_at > since)
        with self.db.read() as s:
            known = (
                select(m.MoodEntry.person_id)
                .where(*low, m.MoodEntry.person_id.is_not(None))
                .group_by(m.MoodEntry.person_id)
                .having(func.count() >= ALERT_AFTER)
            )
            unknown = (
                select(m.MoodEntry.conversation_id)
                .where(*low, m.MoodEntry.person_id.is_(None))
                .group_by(m.MoodEntry.conversation_id)
                .having(func.count() >= ALERT_AFTER)
            )
            return sum(
                s.scalar(select(func.count()).select_from(q.subquery())) or 0
                for q in (known, unknown)
            )

    def _start(self, days: int) -> datetime:
        """Local midnight ``days - 1`` days ago: today counts as one of the days."""
        today = self.clock().astimezone(self.tz).date()
        first = today - timedelta(days=days - 1)
        return datetime.combine(first, datetime.min.time(), tzinfo=self.tz)


def _who(actor: str, names: dict[int, str]) -> str:
    """An audit actor as staff read it: a person's name, a staff username, or "system"."""
    kind, _, rest = actor.partition(":")
    if kind == "person" and rest.isdigit():
        return names.get(int(rest), actor)
    return rest or kind
