"""rasa-sdk registers every action in the package, exactly as the action server will."""

from __future__ import annotations

import yaml
from rasa_sdk.executor import ActionExecutor

from tests.bot.test_stories import ROOT


def test_every_domain_action_is_served_and_every_served_action_is_declared():
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((ROOT / "bot/domain.yml").read_text(encoding="utf-8"))
    assert set(executor.actions) == set(domain["actions"])
