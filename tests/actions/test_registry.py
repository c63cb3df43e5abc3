"""rasa-sdk registers every action in the package, exactly as the action server will."""

from __future__ import annotations

import yaml
from rasa_sdk.executor import ActionExecutor

from tests.bot.test_stories import ROOT


def test_every_domain_action_is_served_and_every_served_action_is_declared():
    executor = ActionExecutor()
    executor.register_package("actions")
    declared = set()
    for part in sorted((ROOT / "bot/domain").glob("*.yml")):
        for entry in yaml.safe_load(part.read_text(encoding="utf-8")).get("actions") or []:
            # `- validate_meal_form: {send_domain: true}` declares the action by its key.
            declared |= set(entry) if isinstance(entry, dict) else {entry}
    assert set(executor.actions) == declared
