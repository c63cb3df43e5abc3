"""A signed WeChat query string serves one message: (timestamp, nonce) remembered in the
database, on SQLite and PostgreSQL, for every process at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from care.nonces import WINDOW_S, Nonces, message_digest

T = 1_700_000_000


def test_a_pair_signs_one_message_and_its_retries(care):
    nonces = Nonces(care.db)
    first = message_digest("oElder", "msg:1")
    assert nonces.first_use(T, "1832145745", first) is True
    assert nonces.first_use(T, "1832145745", first) is True  # WeChat's retry: same message
    # The same signed query string carrying another user's, or another, message.
    assert nonces.first_use(T, "1832145745", message_digest("oStranger", "msg:1")) is False
    assert nonces.first_use(T, "1832145745", message_digest("oElder", "msg:2")) is False
    # Another nonce, or the same nonce at another second, is another signature.
    assert nonces.first_use(T, "77", message_digest("oStranger", "msg:1")) is True
    assert nonces.first_use(T + 1, "1832145745", message_digest("oElder", "msg:2")) is True


def test_racing_replays_have_one_winner(care):
    nonces = Nonces(care.db)
    gate = threading.Barrier(8)

    def use(i: int) -> bool:
        gate.wait()
        return nonces.first_use(T, "race", message_digest(f"o{i}", "msg:9"))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(use, range(8)))
    assert results.count(True) == 1


def test_pairs_are_forgotten_once_their_timestamp_is_refused_anyway(care):
    nonces = Nonces(care.db)
    nonces.first_use(T, "old", message_digest("o1", "msg:1"))
    nonces.first_use(T + 200, "newer", message_digest("o1", "msg:2"))
    assert nonces.forget(T + WINDOW_S - 1) == 0
    assert nonces.forget(T + WINDOW_S + 1) == 1
    assert nonces.first_use(T + 200, "newer", message_digest("o9", "msg:9")) is False
