"""Rasa NLU component that reads dates, times and quantities (Anxin has no Duckling).

Pipeline entry (``bot/config.yml``, repo root on ``PYTHONPATH``), after the
tokenizer/featurizers and before ``EntitySynonymMapper``::

    - name: anxin.nlu_when.WhenExtractor
      timezone: Asia/Shanghai

For every message (not ``/intent`` payloads) it calls :func:`care.when.parse_when`
at the current time in ``timezone`` and :func:`care.numbers.find_quantity`, and
adds, with ``extractor: WhenExtractor`` and start/end of the understood text:

* ``date``: ``"YYYY-MM-DD"``;
* ``time``: ``"HH:MM"`` (24-hour);
* ``part_of_day``: ``morning`` / ``noon`` / ``afternoon`` / ``evening``;
* ``when_ambiguous``: the reason to ask back (``week_without_day``, ``past_date`` …,
  see :data:`care.when.REASONS`);
* ``quantity``: a count of portions / people as a string of digits (``"2"``).

An entity type that an earlier extractor already produced for the message is
left alone. "Now" is the stack's clock (care/clock.py): the real one, or, for tests
and demos, one that started at ``ANXIN_NOW`` (ISO 8601, e.g.
``2026-11-25T10:00:00+08:00``; without an offset it is read in ``timezone``) and runs
on, as ``anxin run`` hands it to every process (``ANXIN_CLOCK_OFFSET_S``).

The component is not trainable and keeps no state.
"""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_base import StatelessExtractor, natural_text
from care.clock import NOW_ENV, Clock, clock_for, offset_from_env
from care.numbers import find_quantity
from care.when import parse_when

__all__ = ["NOW_ENV", "ENTITY_NAMES", "WhenExtractor"]

ENTITY_NAMES = ("date", "time", "part_of_day", "when_ambiguous", "quantity")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class WhenExtractor(StatelessExtractor):
    """Adds ``date``, ``time``, ``part_of_day``, ``when_ambiguous`` and ``quantity`` entities."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``timezone``: the IANA zone "today" and "now" are taken in."""
        return {"timezone": "Asia/Shanghai"}

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self._zone: tzinfo = ZoneInfo(self._config["timezone"])
        # Built once, when Rasa loads the model: the clock every process of the stack shares.
        self._clock: Clock = clock_for(offset_from_env(os.environ, self._config["timezone"]))

    def now(self) -> datetime:
        """The stack's current time, in the configured zone."""
        return self._clock().astimezone(self._zone)

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the date/time/quantity entities to each message."""
        now = self.now()
        for message in messages:
            self._process_one(message, now)
        return messages

    def _process_one(self, message: Message, now: datetime) -> None:
        text = natural_text(message)
        if text is None:
            return
        entities = list(message.get(ENTITIES) or [])
        present = {e.get("entity") for e in entities}
        found: list[tuple[str, str, tuple[int, int] | None]] = []
        when = parse_when(text, now)
        if when.date is not None:
            found.append(("date", when.date.isoformat(), when.date_span))
        if when.time is not None:
            found.append(("time", when.time.strftime("%H:%M"), when.time_span))
        if when.part_of_day is not None:
            found.append(("part_of_day", when.part_of_day, when.part_span))
        if when.ambiguous is not None:
            found.append(("when_ambiguous", when.ambiguous, when.ambiguous_span))
        quantity = find_quantity(text)
        if quantity is not None:
            found.append(("quantity", str(quantity[0]), quantity[1]))
        added = False
        for entity, value, span in found:
            if entity in present:
                continue
            start, end = span if span is not None else (0, 0)
            entities.append(
                {
                    "entity": entity,
                    "value": value,
                    "start": start,
                    "end": end,
                    "extractor": self.name,
                }
            )
            added = True
        if added:
            message.set(ENTITIES, entities, add_to_output=True)
