"""The faster validation of action responses accepts and refuses exactly what Rasa's does."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError, validate
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

from anxin.rasa_server import KEEPALIVE_S, keep_sessions, response_validator, validate_once

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


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
EVENT_NAMES = st.sampled_from(
    ["slot", "user", "bot", "action", "entities", "active_loop", "form", "reset_slots",
     "followup", "session_started", "no_such_event", ""]
)  # fmt: skip
FIELDS = st.sampled_from(
    ["name", "value", "text", "entities", "parse_data", "timestamp", "metadata", "policy",
     "confidence", "input_channel", "hide_rule_turn", "data"]
)  # fmt: skip
EVENT = st.one_of(
    st.builds(
        lambda e, f: {"event": e, **f}, EVENT_NAMES, st.dictionaries(FIELDS, JSONISH, max_size=4)
    ),
    st.dictionaries(FIELDS, JSONISH, max_size=3),  # no `event` at all
    st.builds(lambda e: {"event": e}, JSONISH),  # `event` not a string
    JSONISH,
)  # fmt: skip
RESULT = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"events": st.lists(EVENT, max_size=4) | JSONISH, "responses": JSONISH}
    ),
    JSONISH,
)


VALIDATOR = response_validator()
RASAS = validator_for(RemoteAction.action_response_format_spec())


@settings(max_examples=600, deadline=None)
@given(RESULT)
def test_per_event_dispatch_gives_rasas_verdict(result):
    spec = RemoteAction.action_response_format_spec()
    ours = VALIDATOR
    try:
        ours(result)
        accepted = True
    except ValidationError:
        accepted = False
    # jsonschema.validate(result, spec), which Rasa 3.6 calls, without re-checking the spec.
    assert accepted == RASAS(spec).is_valid(result)


def test_real_events_pass_and_an_unknown_one_is_refused():
    validate = response_validator()
    validate({"events": [
        {"event": "slot", "name": "meal", "value": "lunch", "timestamp": None},
        {"event": "active_loop", "name": "meal_form"},
        {"event": "bot", "text": "好的", "data": {"buttons": []}},
    ], "responses": [{"text": "hi", "buttons": [{"title": "是", "payload": "/affirm"}]}],
    })  # fmt: skip
    with pytest.raises(ValidationError, match="not valid under any"):
        validate({"events": [{"event": "slot_set", "name": "x", "value": 1}]})
    with pytest.raises(ValidationError):
        validate({"events": [{"event": "slot", "name": "x"}]})  # value is required


async def test_calls_to_the_action_server_reuse_one_connection(monkeypatch):
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    # Restored after the test: the replacement is for the Rasa server process only.
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    peers: list[tuple[str, int]] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "echo": (await request.json())["n"]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    try:
        stock = [await endpoint.request(json={"n": n}) for n in range(2)]
        assert peers[0] != peers[1]  # Rasa's own: a new connection per call
        keep_sessions()
        kept = [await endpoint.request(json={"n": n}) for n in range(2, 5)]
        assert [r["echo"] for r in stock + kept] == [0, 1, 2, 3, 4]
        assert len(set(peers[2:])) == 1  # one connection for the three calls
        await asyncio.sleep(KEEPALIVE_S + 0.5)  # idle: dropped before the server would
        assert (await endpoint.request(json={"n": 5}))["echo"] == 5
        assert peers[5] != peers[4]
    finally:
        await runner.cleanup()


def test_a_token_that_begins_with_a_dash_reaches_rasa_as_the_token() -> None:
    import argparse

    from rasa.cli.arguments.run import add_server_arguments

    from anxin.rasa_server import with_api_token

    argv = with_api_token(["rasa", "run", "--enable-api"], "-Xy_z")
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    assert parser.parse_args(argv[2:]).auth_token == "-Xy_z"
    assert with_api_token(["rasa", "train"], "-Xy_z") == ["rasa", "train"]
    assert with_api_token(["rasa", "run"], None) == ["rasa", "run"]
