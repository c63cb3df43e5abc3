"""Who may call the REST and voice routes (channels/caller_auth.py): the rule alone."""

from __future__ import annotations

import pytest

from channels.caller_auth import NOT_LOCAL, UNAUTHENTICATED, bearer, is_loopback, refusal

TOKEN = "s3cret-rest-token"


@pytest.mark.parametrize(
    "peer, local",
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
     ("10.0.0.5", False), ("192.168.1.20", False), ("::ffff:10.0.0.5", False),
     ("2001:db8::1", False), ("", False), (None, False), ("localhost", False),
     ("not an address", False)],
)  # fmt: skip
def test_loopback_is_this_machine_only(peer, local):
    assert is_loopback(peer) is local


def test_without_a_token_only_this_machine_is_answered():
    assert refusal(None, None, None, "127.0.0.1") is None
    assert refusal(None, None, None, "::1") is None
    assert refusal(None, "Bearer anything", None, "10.0.0.5") == NOT_LOCAL
    assert NOT_LOCAL.status == 403


@pytest.mark.parametrize("peer", ["127.0.0.1", "10.0.0.5"])
def test_with_a_token_everyone_needs_it_even_here(peer):
    assert refusal(TOKEN, f"Bearer {TOKEN}", None, peer) is None
    assert refusal(TOKEN, f"bearer   {TOKEN}  ", None, peer) is None
    for wrong in (None, "", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}",
                  TOKEN, "Bearer \udcff"):  # fmt: skip
        assert refusal(TOKEN, wrong, None, peer) == UNAUTHENTICATED
    assert UNAUTHENTICATED.status == 401 and "Bearer" in UNAUTHENTICATED.error


def test_a_query_token_only_opens_a_websocket():
    # Browsers cannot set headers on a WebSocket; elsewhere a token in a URL is refused
    # (URLs end up in logs).
    assert refusal(TOKEN, None, TOKEN, "10.0.0.5", websocket=True) is None
    assert refusal(TOKEN, None, TOKEN, "10.0.0.5", websocket=False) == UNAUTHENTICATED
    assert refusal(TOKEN, None, "wrong", "10.0.0.5", websocket=True) == UNAUTHENTICATED


def test_bearer():
    assert bearer("Bearer abc") == "abc"
    assert bearer("BEARER abc") == "abc"
    assert bearer("Basic abc") is None
    assert bearer(None) is None
