"""A conversation lock in Redis that holds across processes: one turn at a time, everywhere.

Rasa runs a conversation's turn inside ``lock_store.lock(sender_id)``: a ticket lock
(take a number, wait until it is served). Rasa Open Source's ``RedisLockStore`` keeps
the whole lock as one JSON string and changes it by read → modify → write: two
processes that read it at the same moment both issue the same ticket, both are
"served", and both run the turn; the tracker saved last wins and the other message is
gone (Rasa issue #9213; the fix was reverted from Rasa Open Source, PR #11428). With
two Sanic workers, 7 of 150 conversations that got two messages at once kept only one.

Here every change is one Lua script, which Redis runs atomically, and time is Redis's
own clock (``TIME``), so servers whose clocks differ still agree on what expired. A
conversation is one hash, ``<key_prefix>:ticket_lock:<conversation id>``:

- ``last``: the last ticket number issued (``HINCRBY``: unique and increasing). It
  outlives the tickets (``KEEP_S``), so a number is never issued twice while a holder
  that lost its ticket might still release it;
- ``<number>``: a live ticket and when it expires (milliseconds, Redis time).

The lowest live ticket is served. A ticket lives ``lock_lifetime`` seconds from when it
was issued (``TICKET_LOCK_LIFETIME``, Rasa's setting), so the tickets of a process that
died lapse and the next message goes ahead. The holder renews its ticket while its turn
runs (every third of the lifetime), so a slow turn is never overlapped by the next one;
a message that waits longer than its ticket's lifetime gives up with Rasa's
``LockError``. Waiting is polled, sooner at first (a turn takes tens of milliseconds).

Loaded by Rasa by module path (``anxin run`` writes it into the endpoints)::

    lock_store:
      type: anxin.lock_store.AtomicRedisLockStore
      url: 127.0.0.1
      port: 6379
      db: 0
      key_prefix: anxin
      # password, username, use_ssl, ssl_certfile, ssl_keyfile, ssl_ca_certs,
      # socket_timeout: as Rasa's RedisLockStore

Logs carry no conversation ids (a sender id can be a phone number).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    LockStore,
)
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

KEY_PART = "ticket_lock:"
# How long a conversation's counter outlives its last ticket (at least: 2 lifetimes).
KEEP_S = 24 * 3600
FIRST_POLL_S = 0.01

# Shared by every script: Redis's clock in ms, and the live tickets (expired ones dropped).
_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function live(key, now)
  local flat = redis.call('HGETALL', key)
  local tickets = {}
  for i = 1, #flat, 2 do
    if flat[i] ~= 'last' then
      if tonumber(flat[i + 1]) <= now then
        redis.call('HDEL', key, flat[i])
      else
        tickets[#tickets + 1] = {tonumber(flat[i]), tonumber(flat[i + 1])}
      end
    end
  end
  table.sort(tickets, function(a, b) return a[1] < b[1] end)
  return tickets
end
"""

# KEYS[1] the lock; ARGV lifetime_ms, keep_ms → the new ticket's number
_ISSUE = (
    _PRELUDE
    + """
local now = now_ms()
live(KEYS[1], now)
local n = redis.call('HINCRBY', KEYS[1], 'last', 1)
redis.call('HSET', KEYS[1], n, now + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
"""
)

# KEYS[1]; ARGV ticket, lifetime_ms, keep_ms → 0 served (and renewed for a lifetime
# from now), -1 the ticket is gone (expired), else how many tickets are ahead of it
_ACQUIRE = (
    _PRELUDE
    + """
local now = now_ms()
local tickets = live(KEYS[1], now)
local mine = tonumber(ARGV[1])
local ahead = nil
for i, t in ipairs(tickets) do
  if t[1] == mine then ahead = i - 1 end
end
if ahead == nil then return -1 end
if ahead == 0 then
  redis.call('HSET', KEYS[1], mine, now + tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return ahead
"""
)

# KEYS[1]; ARGV ticket, lifetime_ms, keep_ms → 1 renewed, 0 the ticket is gone
_RENEW = (
    _PRELUDE
    + """
local now = now_ms()
local expires = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if expires == nil or expires <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS[1]; ARGV ticket → how many live tickets are left
_RELEASE = (
    _PRELUDE
    + """
redis.call('HDEL', KEYS[1], ARGV[1])
return #live(KEYS[1], now_ms())
"""
)

# KEYS[1] → {now_ms, number, expires_ms, number, expires_ms, ...} of the live tickets
_SNAPSHOT = (
    _PRELUDE
    + """
local now = now_ms()
local out = {now}
for _, t in ipairs(live(KEYS[1], now)) do
  out[#out + 1] = t[1]
  out[#out + 1] = t[2]
end
return out
"""
)

# KEYS[1]; ARGV keep_ms, then number, expires_ms pairs → adds the tickets not there yet
# (never moves `last` back, never lengthens a ticket): save_lock without a race
_MERGE = (
    _PRELUDE
    + """
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
for i = 2, #ARGV, 2 do
  local n = tonumber(ARGV[i])
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  if n > last then last = n end
end
redis.call('HSET', KEYS[1], 'last', last)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
live(KEYS[1], now_ms())
return last
"""
)


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock with every step atomic in Redis (see the module's docstring)."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        host: str = "localhost",
        port: int = 6379,
        db: int = 1,
        username: Optional[str] = None,
        password: Optional[str] = None,
        use_ssl: bool = False,
        ssl_certfile: Optional[str] = None,
        ssl_keyfile: Optional[str] = None,
        ssl_ca_certs: Optional[str] = None,
        key_prefix: Optional[str] = None,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    ) -> None:
        import redis

        if endpoint_config is not None:
            # Rasa builds a custom lock store as cls(endpoint_config=...): `url` is the host.
            kwargs: dict[str, Any] = dict(endpoint_config.kwargs or {})
            host = endpoint_config.url or host
            port = int(kwargs.get("port", port))
            db = int(kwargs.get("db", db))
            username = kwargs.get("username", username)
            password = kwargs.get("password", password)
            use_ssl = bool(kwargs.get("use_ssl", use_ssl))
            ssl_certfile = kwargs.get("ssl_certfile", ssl_certfile)
            ssl_keyfile = kwargs.get("ssl_keyfile", ssl_keyfile)
            ssl_ca_certs = kwargs.get("ssl_ca_certs", ssl_ca_certs)
            key_prefix = kwargs.get("key_prefix", key_prefix)
            socket_timeout = float(kwargs.get("socket_timeout", socket_timeout))
        # Built where it is used: Rasa makes its lock store in each worker as the worker
        # starts (and redis-py's pool opens connections per process anyway).
        self.red = redis.StrictRedis(
            host=host,
            port=int(port),
            db=int(db),
            username=username,
            password=password,
            ssl=use_ssl,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            ssl_ca_certs=ssl_ca_certs,
            socket_timeout=socket_timeout,
        )
        self.key_prefix = KEY_PART
        if key_prefix:
            if isinstance(key_prefix, str) and key_prefix.isalnum():
                self.key_prefix = f"{key_prefix}:{KEY_PART}"
            else:  # as Rasa's RedisLockStore does
                log.warning("lock store: key prefix is not letters and digits; ignored")
        self._issue = self.red.register_script(_ISSUE)
        self._acquire = self.red.register_script(_ACQUIRE)
        self._renew = self.red.register_script(_RENEW)
        self._release = self.red.register_script(_RELEASE)
        self._snapshot = self.red.register_script(_SNAPSHOT)
        self._merge = self.red.register_script(_MERGE)
        super().__init__()

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    @staticmethod
    def _keep_ms(lifetime: float) -> int:
        return int(max(KEEP_S, 2 * lifetime) * 1000)

    # Rasa's LockStore interface ------------------------------------------------------

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket, unique and later than every one issued before it (atomic)."""
        try:
            return int(
                self._issue(
                    keys=[self._key(conversation_id)],
                    args=[int(lock_lifetime * 1000), self._keep_ms(lock_lifetime)],
                )
            )
        except Exception as exc:
            raise LockError(f"Error while acquiring lock: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock: wait for the ticket's turn, renew it while the
        body runs, give it back at the end whatever happens."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        renewing: Optional[asyncio.Task[None]] = None
        try:
            wait_s = wait_time_in_seconds
            held = await self._wait_for(conversation_id, ticket, lock_lifetime, wait_s)
            renewing = asyncio.ensure_future(self._keep(conversation_id, ticket, lock_lifetime))
            yield held
        finally:
            if renewing is not None:
                renewing.cancel()
            self.cleanup(conversation_id, ticket)

    async def _wait_for(
        self, conversation_id: str, ticket: int, lifetime: float, wait_time_in_seconds: float
    ) -> TicketLock:
        poll = min(FIRST_POLL_S, wait_time_in_seconds)
        while True:
            ahead = int(
                self._acquire(
                    keys=[self._key(conversation_id)],
                    args=[ticket, int(lifetime * 1000), self._keep_ms(lifetime)],
                )
            )
            if ahead == 0:
                expires = time.time() + lifetime
                return TicketLock(conversation_id, deque([Ticket(ticket, expires)]))
            if ahead < 0:
                # Waited a whole lifetime: the turn ahead is stuck; this message gives up.
                raise LockError("Could not acquire the conversation's lock: ticket expired")
            await asyncio.sleep(poll)
            poll = min(poll * 2, wait_time_in_seconds)

    async def _keep(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Renew the held ticket every third of its lifetime while the turn runs."""
        while True:
            await asyncio.sleep(lifetime / 3)
            try:
                kept = self.renew(conversation_id, ticket, lifetime)
            except Exception as exc:  # Redis away for a moment: the next round tries again
                log.warning("lock store: could not renew a held lock (%s)", type(exc).__name__)
                continue
            if not kept:
                log.warning("lock store: a held lock expired before its turn ended")
                return

    def renew(self, conversation_id: str, ticket: int, lifetime: float = LOCK_LIFETIME) -> bool:
        """Push the ticket's expiry to a lifetime from now; False if it is gone already."""
        args = [ticket, int(lifetime * 1000), self._keep_ms(lifetime)]
        return bool(self._renew(keys=[self._key(conversation_id)], args=args))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._release(keys=[self._key(conversation_id)], args=[ticket_number])

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back. The counter stays (KEEP_S) so that no number is reused."""
        try:
            self.finish_serving(conversation_id, ticket_number)
        except Exception as exc:  # its ticket lapses after its lifetime anyway
            log.warning("lock store: could not release a lock (%s)", type(exc).__name__)

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (every script does it as it goes)."""
        self.get_lock(conversation_id)

    def is_someone_waiting(self, conversation_id: str) -> bool:
        lock = self.get_lock(conversation_id)
        return lock is not None and lock.is_someone_waiting()

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """The live tickets, expiry in this machine's seconds; None when there are none."""
        now_ms, *flat = self._snapshot(keys=[self._key(conversation_id)])
        if not flat:
            return None
        offset = time.time() - int(now_ms) / 1000  # Redis's clock → ours
        tickets = deque(
            Ticket(int(flat[i]), int(flat[i + 1]) / 1000 + offset) for i in range(0, len(flat), 2)
        )
        return TicketLock(conversation_id, tickets)

    def delete_lock(self, conversation_id: str) -> None:
        """Forget the conversation's tickets and counter (Rasa's cleanup does not call it)."""
        deleted = self.red.delete(self._key(conversation_id))
        self._log_deletion(conversation_id, bool(deleted))

    def save_lock(self, lock: TicketLock) -> None:
        """Add the lock's tickets that are not in Redis yet, atomically; a ticket already
        there keeps its expiry and `last` never goes back."""
        now_s, offset = time.time(), self._clock_offset_s()
        args: list[Any] = [self._keep_ms(0)]
        for t in lock.tickets:
            if t.expires > now_s:
                args += [t.number, int((t.expires - offset) * 1000)]
        self._merge(keys=[self._key(lock.conversation_id)], args=args)

    def _clock_offset_s(self) -> float:
        seconds, micros = self.red.time()
        return time.time() - (seconds + micros / 1_000_000)
