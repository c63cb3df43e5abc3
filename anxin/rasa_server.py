"""``python -m anxin.rasa_server run …``: Rasa's own command line, with fixes for speed.

It also hands Rasa the API token from ``ANXIN_RASA_TOKEN`` without putting it on
the command line.

Rasa 3.6 checks every action-server response with ``jsonschema.validate(result,
schema)``, which first re-checks the schema itself against the JSON-Schema
metaschema: about 32 ms per custom action on these cores, a third of Rasa's CPU
in a booking conversation (measured with py-spy, docs/benchmarks.md). Here the
schema is checked once, and each event is checked against the one branch of the
schema's ``oneOf`` whose ``event`` constant it names, instead of against all 23
(still a twentieth of Rasa's CPU before). The verdicts are Rasa's (a property test
compares them) and a refusal fails with Rasa's error.

Rasa 3.6 also opens a new HTTP session, and so a new TCP connection, for every
call to the action server. Here each endpoint keeps one session per event loop;
its idle connections are dropped after 2 s, long before the action server's
keep-alive (75 s, anxin/action_server.py) would close them under a request in
flight.

Prediction graphs run without dask's scheduler: anxin/graph_runner.py. Rasa's
RegexFeaturizer marks tokens in linear time: anxin/regex_features.py.

Of Rasa's own HTTP API only the routes Anxin uses are served, each checked strictly before
it runs (anxin/rasa_api.py); the channels under ``/webhooks/`` check their own requests.

Sanic 21.12's HTTP parser is guarded (anxin/http_guard.py): a malformed request head
(``Content-Length: -1`` froze the process for good) or WebSocket upgrade gets a 4xx.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Any, Callable


def response_validator() -> Callable[[Any], None]:
    """Rasa's action-response check, built once: raises ``ValidationError`` like it."""
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    # Every branch of the events' oneOf pins `event` to a different constant, so an
    # event (an object with a string `event`, which the outer schema requires) can
    # satisfy at most the branch named by its `event`: oneOf holds exactly when that
    # branch exists and holds.
    outer = copy.deepcopy(schema)
    branches = {
        b["properties"]["event"]["const"]: cls(b)
        for b in outer["properties"]["events"]["items"].pop("oneOf")
    }
    whole = cls(outer)

    def validate(result: Any) -> None:
        whole.validate(result)
        for event in result.get("events") or ():
            branch = branches.get(event["event"])
            if branch is None:
                raise ValidationError(f"{event!r} is not valid under any of the given schemas")
            branch.validate(event)

    return validate


def validate_once() -> None:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    validate = response_validator()

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validate(result)
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


KEEPALIVE_S = 2.0


class _Kept:
    """``async with`` that lends a long-lived session and leaves it open."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def keep_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    # Keyed by ids (EndpointConfig is unhashable); the entry holds the endpoint and
    # the loop, so neither id can be reused while the session lives.
    kept: dict[tuple[int, int], tuple[Any, Any, aiohttp.ClientSession]] = {}

    def session(self: EndpointConfig) -> Any:
        loop = asyncio.get_running_loop()
        entry = kept.get((id(self), id(loop)))
        current = entry[2] if entry else None
        if current is None or current.closed:
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            current = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
            )
            kept[(id(self), id(loop))] = (self, loop, current)
        return _Kept(current)

    EndpointConfig.session = session  # type: ignore[method-assign,assignment]


def guard_api() -> None:
    """Every app ``rasa run`` configures serves only Anxin's API routes, checked first
    (anxin/rasa_api.py)."""
    import rasa.core.run
    from sanic import response

    from anxin import rasa_api

    configure_app = rasa.core.run.configure_app

    async def guard(request: Any) -> Any:
        try:
            path, query = request.path, request.query_string or ""
        except UnicodeDecodeError:  # raw bytes in the target (http_guard refuses most)
            path, query = "", "%ff"
        refusal = rasa_api.problem(request.method, path or "/", query, request.body or b"")
        if refusal is None:
            return None
        return response.json(refusal.body(), status=refusal.status)

    def configure(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.register_middleware(guard, "request")
        return app

    rasa.core.run.configure_app = configure


def with_api_token(argv: list[str], token: str | None) -> list[str]:
    """``rasa run`` arguments with the API token added.

    Added here, not on the command line ``ps`` shows to every user of the machine. One
    argument with "=": a token may begin with "-", which argparse would otherwise read as
    the next option (``token_urlsafe`` makes one in 64 runs; CI met it).
    """
    if not token or len(argv) < 2 or argv[1] != "run":
        return argv
    return [*argv, f"--auth-token={token}"]


def main() -> None:
    from anxin import graph_runner, http_guard, regex_features

    http_guard.install()
    validate_once()
    keep_sessions()
    guard_api()
    graph_runner.install()
    regex_features.install()
    # jieba loads its dictionary on the first Chinese message (~2 s of CPU here): that
    # message's WeChat acknowledgement paid for it. Loaded before Rasa says it is ready.
    import jieba

    jieba.initialize()
    sys.argv = with_api_token(sys.argv, os.environ.get("ANXIN_RASA_TOKEN"))
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
