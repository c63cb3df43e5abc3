"""The faster validation of action responses accepts and refuses exactly what Rasa's does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from anxin.rasa_server import validate_once

GOOD = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
BAD = [{"events": "not a list"}, {"events": [{"no_event_key": 1}]}, {"responses": "text"}]


def test_same_verdicts_as_rasa(monkeypatch):
    spec = RemoteAction.action_response_format_spec()
    # Restored after the test: the replacement is for the Rasa server process only.
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    validate_once()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(GOOD) is True
    for bad in BAD:
        with pytest.raises(ValidationError):
            validate(bad, spec)  # Rasa's original check refuses it ...
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(bad)  # ... and so does ours, with Rasa's message
