"""``link_family``: an elder gets a code, a relative redeems it, the elder says yes or no.

One form (``link_form``) serves both sides. For an elder it asks nothing: the
submit action hands out a code, or asks about a relative waiting for consent.
For a relative it asks for the code, their name when we do not know them yet,
and what they are to the elder; the link stays pending until the elder agrees.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import name_answer
from actions.parsed import answers_question, entity, intent_of
from actions.runtime import CareMixin
from actions.say import YES_NO, buttons
from care.audit import Actor
from care.choices import Option, ordinal, pick
from care.errors import CareError, IdentityTaken, InvalidCode, TooManyAttempts
from care.family import RELATIONS, relation_name

log = logging.getLogger(__name__)

LINK_SLOTS = ("invite_code", "family_name", "family_relation", "link_options")
# The choices a relative is offered, with the words people use for them.
RELATION_WORDS = {
    "son": ("儿子", "son", "小子"),
    "daughter": ("女儿", "闺女", "daughter"),
    "son_in_law": ("女婿", "son-in-law", "son in law"),
    "daughter_in_law": ("儿媳", "媳妇", "daughter-in-law", "daughter in law"),
    "grandson": ("孙子", "外孙", "grandson"),
    "granddaughter": ("孙女", "外孙女", "granddaughter"),
    "relative": ("亲戚", "亲属", "其他", "relative", "other"),
}


def relation_options() -> list[Option]:
    return [
        Option(code, RELATIONS[code][0], RELATIONS[code][1], "", words)
        for code, words in RELATION_WORDS.items()
    ]


def by_number_or_word(options: list[Option], text: str, code: Optional[str]) -> Optional[Option]:
    """A tap, "2", or the longest word said: "外孙女" is a granddaughter, not a grandson."""
    if code or ordinal(text, len(options)):
        return pick(options, text, code=code)
    lowered = text.lower()
    said = [(len(k), o) for o in options for k in o.keys if k in lowered]
    return max(said, key=lambda pair: pair[0])[1] if said else None


class ValidateLinkForm(CareMixin, FormValidationAction):
    def name(self) -> str:
        return "validate_link_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        person = self.person(tracker)
        code = tracker.get_slot("invite_code")
        if person is not None and person.kind == "elder" and not code:
            return []  # the elder: a code to hand out, or a request to answer
        if code and self.care.identities.is_channel_code(code):
            return []  # a code for linking one's own second app: nothing more to ask
        wanted = ["invite_code"]
        if person is None:
            wanted.append("family_name")
        return [*wanted, "family_relation"]

    async def extract_family_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return name_answer(tracker, "family_name")

    async def extract_family_relation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "family_relation":
            return {}
        if not answers_question(tracker) and intent_of(tracker) != "link_family":
            return {}  # "我是她闺女" may read as link_family: still an answer here
        text = str(tracker.latest_message.get("text") or "")
        options = relation_options()
        chosen = by_number_or_word(options, text, entity(tracker, "choice"))
        if chosen is None and intent_of(tracker) == "deny":
            return {}
        return {"family_relation": chosen.code if chosen else None}

    async def validate_invite_code(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        digits = "".join(ch for ch in str(value or "") if ch.isdigit())
        if len(digits) != 6:
            dispatcher.utter_message(response="utter_link_code_six_digits")
            return {"invite_code": None}
        return {"invite_code": digits}


class ActionAskFamilyRelation(Action):
    def name(self) -> str:
        return "action_ask_family_relation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = tracker.get_slot("language") or "zh"
        options = relation_options()
        dispatcher.utter_message(
            response="utter_ask_family_relation", buttons=buttons(options, language)
        )
        return [SlotSet("link_options", [asdict(o) for o in options])]


class ActionLinkFamily(CareMixin, Action):
    """The form's end: redeem the relative's code, or serve the elder."""

    def name(self) -> str:
        return "action_link_family"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(s, None) for s in LINK_SLOTS]
        code = tracker.get_slot("invite_code")
        person = self.person(tracker)
        if code:
            return reset + self._redeem(dispatcher, tracker, code, person)
        if person is None or person.kind != "elder":
            dispatcher.utter_message(response="utter_link_how")
            return reset
        pending = self.care.family.pending_for_elder(person.id)
        if pending:
            link = pending[0]
            relative = self.care.people.get(link.family_id)
            dispatcher.utter_message(
                response="utter_link_consent_ask",
                name=relative.name,
                relation=relation_name(link.relation, "zh"),
                relation_en=relation_name(link.relation, "en"),
                buttons=YES_NO,
            )
            return [*reset, SlotSet("pending_link", str(link.id))]
        invite = self.care.family.create_invite(person.id, Actor.person(person.id))
        dispatcher.utter_message(response="utter_link_code", code=invite.code)
        return reset

    def _redeem(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, code: str, person: Any
    ) -> list[EventType]:
        language = tracker.get_slot("language") or "zh"
        try:
            me = self.care.identities.redeem(
                code, self.channel(tracker), self.external_id(tracker)
            )
            if me is not None:  # the person's own second app, not a relative
                dispatcher.utter_message(response="utter_channel_linked", name=me.name)
                return []
            link = self.care.family.redeem(
                code,
                self.channel(tracker),
                self.external_id(tracker),
                tracker.get_slot("family_name") or (person.name if person else ""),
                relation=tracker.get_slot("family_relation"),
                language=language,
                elder_called=entity(tracker, "relation"),
            )
        except TooManyAttempts:
            dispatcher.utter_message(response="utter_link_too_many_tries")
            return []
        except InvalidCode as wrong:
            reason = wrong.details.get("reason", "unknown")
            dispatcher.utter_message(response=f"utter_link_code_{reason}")
            return []
        except IdentityTaken:
            hotline = self.care.settings.centre_hotline
            dispatcher.utter_message(response="utter_channel_taken", centre_hotline=hotline)
            return []
        except CareError:
            log.info("family link refused")
            dispatcher.utter_message(response="utter_link_code_unknown")
            return []
        elder = self.care.people.get(link.elder_id)
        if link.status == "active":
            dispatcher.utter_message(response="utter_link_already", elder=elder.name)
        else:
            dispatcher.utter_message(response="utter_link_requested", elder=elder.name)
        return []


class ActionLinkAnswer(CareMixin, Action):
    """The elder's yes or no to a relative waiting for consent."""

    def name(self) -> str:
        return "action_link_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        link_id: Optional[str] = tracker.get_slot("pending_link")
        person = self.person(tracker)
        if not link_id and person is not None and person.kind == "elder":
            # "同意" as the first words of a conversation: the answer to the question
            # the channel delivered from the outbox, if exactly one relative is waiting.
            pending = self.care.family.pending_for_elder(person.id)
            link_id = str(pending[0].id) if len(pending) == 1 else None
        if not link_id or person is None:
            dispatcher.utter_message(response="utter_ok")
            return [SlotSet("pending_link", None)]
        agree = intent_of(tracker) == "affirm"
        try:
            link = self.care.family.answer(person.id, int(link_id), agree, Actor.person(person.id))
        except CareError:
            log.info("family link answer refused")
            dispatcher.utter_message(response="utter_ok")
            return [SlotSet("pending_link", None)]
        relative = self.care.people.get(link.family_id)
        dispatcher.utter_message(
            response="utter_link_agreed" if agree else "utter_link_declined", name=relative.name
        )
        return [SlotSet("pending_link", None)]


class ActionLinkChannel(CareMixin, Action):
    """ "我想在Telegram上也用": a one-time code to send from the other app."""

    def name(self) -> str:
        return "action_link_channel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        person = self.person(tracker)
        if person is None:
            dispatcher.utter_message(response="utter_channel_code_stranger")
            return []
        code = self.care.identities.create_code(person.id, Actor.person(person.id))
        dispatcher.utter_message(response="utter_channel_code", code=code.code)
        return []
