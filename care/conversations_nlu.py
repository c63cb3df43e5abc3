"""Staff corrections of misunderstood messages, and their export as Rasa NLU training data.

A correction points at the user event it corrects (``events.id``) and keeps a copy of
the text, the language and what the model predicted, so the export needs nothing else.
``export`` writes one ``corrections.yml`` per language in Rasa's YAML training-data
format, written by Rasa's own writer so the next ``rasa train`` reads it as it wrote it.

Alarms staff marked as false (care.false_alarms) are exported too, as corrections of the
message that raised them: see ``export`` for how they are labelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional

import yaml
from sqlalchemy import select

from care.config import CareSettings
from care.conversations import user_turn
from care.db import Database
from care.errors import InvalidRequest, NotFound
from care.models_review import ConversationEvent, NluCorrection

DOMAIN_DIR = Path(__file__).resolve().parent.parent / "bot" / "domain"


class UnknownMessage(NotFound):
    pass


@dataclass(frozen=True)
class Correction:
    event_id: int
    sender_id: str
    text: str
    language: str
    predicted_intent: Optional[str]
    correct_intent: str
    flagged_by: str
    flagged_at: datetime


def known_intents(domain_dir: Path = DOMAIN_DIR) -> list[str]:
    """Intents the assistant knows (bot/domain/*.yml): the only answers a flag may give."""
    found: dict[str, None] = {}
    for path in sorted(domain_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("intents") or []:
            name = next(iter(item)) if isinstance(item, dict) else item
            if isinstance(name, str) and name != "nlu_fallback":
                found.setdefault(name, None)
    return list(found)


class Corrections:
    def __init__(self, db: Database, clock: Callable[[], datetime], intents: list[str]) -> None:
        self.db, self.clock, self.intents = db, clock, intents

    def flag(self, sender_id: str, event_id: int, correct_intent: str, staff: str) -> Correction:
        """Record (or change) the right intent for one user message of this conversation."""
        if correct_intent not in self.intents:
            raise InvalidRequest("pick one of the assistant's intents")
        with self.db.write() as s:
            row = s.get(ConversationEvent, event_id)
            event = json.loads(row.data or "{}") if row is not None else {}
            if row is None or row.sender_id != sender_id or event.get("event") != "user":
                raise UnknownMessage("no such message in this conversation", event_id=event_id)
            turn = user_turn(event_id, event, None)
            if not turn.text or turn.text.startswith("/"):
                # A button payload ("/affirm") is not language to learn from.
                raise InvalidRequest("only typed or spoken messages can be corrected")
            found = s.scalars(
                select(NluCorrection).where(NluCorrection.event_id == event_id)
            ).first()
            if found is None:
                found = NluCorrection(event_id=event_id, sender_id=sender_id)
                s.add(found)
            found.text = turn.text
            found.language = turn.language or "zh"
            found.predicted_intent = turn.intent
            found.correct_intent = correct_intent
            found.flagged_by = staff
            found.flagged_at = self.clock()
            s.flush()
            return _record(found)

    def all(self) -> list[Correction]:
        with self.db.read() as s:
            rows = s.scalars(select(NluCorrection).order_by(NluCorrection.id))
            return [_record(r) for r in rows]


def _record(row: NluCorrection) -> Correction:
    return Correction(
        event_id=row.event_id,
        sender_id=row.sender_id,
        text=row.text,
        language=row.language,
        predicted_intent=row.predicted_intent,
        correct_intent=row.correct_intent,
        flagged_by=row.flagged_by,
        flagged_at=row.flagged_at,
    )


def oldest_first(*groups: list[Correction]) -> list[Correction]:
    """Staff corrections and false alarms as one list for ``export``, oldest word first, so
    that the latest word on the same words is the one kept."""
    return sorted((c for group in groups for c in group), key=lambda c: c.flagged_at)


def export(corrections: list[Correction], out_dir: Path) -> dict[str, Path]:
    """Write ``out_dir/<language>/corrections.yml`` for each language; the files written.

    A false alarm is a correction to the intent ``not_safety`` (care.false_alarms.NOT_SAFETY).
    Rasa's training data has positive examples only, one intent each, and a false alarm
    says what a message was *not* (an emergency, a crisis) rather than what it was, so
    no intent of the domain fits: "inform" or "greet" would teach the model something
    staff never said. ``not_safety`` is one honest label for "everyday words that sound
    like danger" (我把暖壶摔了, "I'm dying to see the baby"), learnt beside the others
    (nlu_data/nlu/*/not_safety.yml) so the next model stops pulling them towards
    emergency and crisis; bot/domain answers it by listening (utter_listening), and
    ``anxin nlu export`` warns if a domain lacks it.

    When staff also flagged the same words with an intent of their own, the later word
    wins, as for any two corrections of the same words: pass them oldest first."""
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    by_language: dict[str, dict[str, Message]] = {}
    for c in corrections:
        # The same words flagged twice are one example (the latest intent wins).
        text = " ".join(c.text.split())
        by_language.setdefault(c.language, {})[text] = Message(
            data={TEXT: text, INTENT: c.correct_intent}
        )
    written = {}
    for language, messages in sorted(by_language.items()):
        path = out_dir / language / "corrections.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = TrainingData(training_examples=list(messages.values()))
        header = "# Written by `anxin nlu export` from staff corrections in the console.\n"
        path.write_text(header + RasaYAMLWriter().dumps(data), encoding="utf-8")
        written[language] = path
    return written


def export_command(settings: CareSettings, out_dir: str) -> int:
    """``anxin nlu export``: the corrections so far, as training data for the next run."""
    from care import migrate
    from care.false_alarms import NOT_SAFETY, as_corrections
    from care.services import build

    care = build(settings)
    intents = known_intents()
    try:
        migrate.upgrade(care.db)
        flagged = Corrections(care.db, care.clock, intents).all()
        false_alarms = as_corrections(care.db)
    finally:
        care.close()
    corrections = oldest_first(flagged, false_alarms)
    if not corrections:
        print("anxin: no corrections yet (flag misunderstood messages or mark false alarms "
              "in the staff console)")  # fmt: skip
        return 0
    for language, path in export(corrections, Path(out_dir)).items():
        count = sum(1 for c in corrections if c.language == language)
        print(f"anxin: {count} correction(s) in {language} written to {path}")
    if false_alarms:
        print(f"anxin: {len(false_alarms)} of them from false alarms, as intent {NOT_SAFETY}")
        if NOT_SAFETY not in intents:
            print(f"anxin: bot/domain has no intent {NOT_SAFETY} yet: add it (and a reply) "
                  "before training on these files")  # fmt: skip
    return 0
