"""Rasa's RulePolicy, matching rules without walking the whole conversation.

Policy entry, in place of ``RulePolicy`` (same options)::

    - name: anxin.policy_rules.ShortRulePolicy

For every prediction Rasa checks each of the ~130 rules against every earlier
turn of the conversation, newest first, although a rule only has a few turns and
is "applicable" by definition once the check goes back further than its length.
In a booking conversation that was about a fifteenth of the Rasa server's CPU
per message, growing with the conversation (py-spy, docs/benchmarks.md). Here the
walk stops once it has gone back further than the longest rule still in the
running, each rule's states are reversed once, not on every check, and at the
newest turn only the rules naming the conversation's last action (or none) are
checked — the others cannot match there. The same rules are left
(tests/anxin/test_policy_rules.py compares the two on random rules and
conversations).

Each prediction also looked at the conversation twice (once by the words of the
last message, once by its intent), and each look replayed it from the start of the
session. The replay does not depend on which look it is for, so it is done once per
prediction here (tests/anxin/test_policy_rules.py compares the states with Rasa's).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any, Optional

from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import State
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ACTION_NAME

# For one set of rules: the rules whose newest turn names a previous action, by that
# name, and the rest (a conversation start, action text, no previous action at all).
FirstTurns = tuple[dict[str, frozenset[str]], frozenset[str]]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class ShortRulePolicy(RulePolicy):
    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def _reversed_rule_states(rule_key: str) -> tuple[State, ...]:
        return tuple(reversed(RulePolicy._rule_key_to_state(rule_key)))

    def _is_rule_applicable(
        self, rule_key: str, turn_index: int, conversation_state: State
    ) -> bool:
        # Rasa's check, with the reversed states from the cache.
        reversed_rule_states = self._reversed_rule_states(rule_key)
        if turn_index >= len(reversed_rule_states):
            return True
        current_previous_action = conversation_state.get(PREVIOUS_ACTION)
        rule_previous_action = reversed_rule_states[turn_index].get(PREVIOUS_ACTION)
        if not rule_previous_action and not current_previous_action:
            return True  # both conversation starts
        if not rule_previous_action or not current_previous_action:
            return False  # only one of them a conversation start
        return self._does_rule_match_state(reversed_rule_states[turn_index], conversation_state)

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def _first_turns(keys: frozenset[str]) -> FirstTurns:
        by_action: defaultdict[str, set[str]] = defaultdict(set)
        rest = set()
        for key in keys:
            states = ShortRulePolicy._reversed_rule_states(key)
            name = states[0].get(PREVIOUS_ACTION, {}).get(ACTION_NAME) if states else None
            if isinstance(name, str) and name and name != SHOULD_NOT_BE_SET:
                by_action[name].add(key)
            else:
                rest.add(key)
        return {n: frozenset(k) for n, k in by_action.items()}, frozenset(rest)

    def _get_possible_keys(self, lookup: dict[str, str], states: list[State]) -> set[str]:
        possible = set(lookup.keys())
        if states and possible:
            # A rule that names a previous action at its newest turn matches that turn
            # only if the conversation's last action has that name (Rasa's check, which
            # still runs on the ones left).
            by_action, rest = self._first_turns(frozenset(possible))
            name = states[-1].get(PREVIOUS_ACTION, {}).get(ACTION_NAME)
            possible = set(rest | by_action.get(name, frozenset())) if name else set(rest)
        longest = max((len(self._reversed_rule_states(k)) for k in possible), default=0)
        for i, state in enumerate(reversed(states)):
            if i >= longest:
                break  # every rule left is applicable from here back
            possible = {k for k in possible if self._is_rule_applicable(k, i, state)}
            longest = max((len(self._reversed_rule_states(k)) for k in possible), default=0)
        return possible

    def _prediction_states(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        use_text_for_last_user_input: bool = False,
        rule_only_data: Optional[dict[str, Any]] = None,
    ) -> list[State]:
        replayed = _Replayed(tracker, self.__dict__.setdefault("_replays", {}))
        return super()._prediction_states(
            replayed,  # type: ignore[arg-type]
            domain,
            use_text_for_last_user_input=use_text_for_last_user_input,
            rule_only_data=rule_only_data,
        )


class _Replayed:
    """A tracker whose ``past_states`` replays the conversation once per set of events.

    Only the latest replay is kept. It is the same tracker object with the same number
    of events and the same last event (all three held, so no id is reused), and the
    featurizer edits the states it gets, so each caller gets its own copy.
    """

    def __init__(self, tracker: DialogueStateTracker, memo: dict[str, Any]) -> None:
        self._tracker = tracker
        self._memo = memo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)

    def past_states(
        self,
        domain: Domain,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Optional[dict[str, Any]] = None,
    ) -> list[State]:
        tracker = self._tracker
        last = tracker.events[-1] if tracker.events else None
        same = (tracker, last, domain)  # compared by identity
        options = (len(tracker.events), omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        kept = self._memo.get("latest")
        if not (
            kept is not None
            and all(a is b for a, b in zip(kept[0], same, strict=True))
            and kept[1] == options
        ):
            states = tracker.past_states(
                domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
            kept = (same, options, states)
            self._memo["latest"] = kept
        return [{k: dict(v) if isinstance(v, dict) else v for k, v in s.items()} for s in kept[2]]
