"""``python -m anxin.rasa_server run …``: Rasa's own command line, with one fix for speed.

It also hands Rasa the API token from ``ANXIN_RASA_TOKEN`` without putting it on
the command line.

Rasa 3.6 checks every action-server response with ``jsonschema.validate(result,
schema)``, which first re-checks the schema itself against the JSON-Schema
metaschema: about 32 ms per custom action on these cores, a third of Rasa's CPU
in a booking conversation (measured with py-spy, docs/benchmarks.md). Here the
validator is built and the schema checked once; responses are validated exactly
as before and fail with the same error.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def validate_once() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def main() -> None:
    validate_once()
    token = os.environ.get("ANXIN_RASA_TOKEN")
    if token and len(sys.argv) > 1 and sys.argv[1] == "run":
        # Added here, not on the command line `ps` shows to every user of the machine.
        sys.argv += ["--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
