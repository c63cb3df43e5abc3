"""Hostile inputs for every route, deterministic from a seed (pure: no sockets, no clock).

``plan(routes, requests, seed)`` spreads the requests evenly over route groups (REST,
Rasa's HTTP API, WeChat, Telegram, voice HTTP, voice WebSocket, AudioSocket, staff pages,
staff API), then over input classes within a group, then over the group's routes; each
``Probe`` carries its own seed. ``build(probe, route, context)`` turns a probe into the
bytes to send: a valid request for the route (signed for WeChat, with the secret for
Telegram, the session and CSRF token for the staff console, the tokens when the stack
has them) with one thing wrong — the input class — so the bad part reaches the code
behind the door, not only the door. The ``auth-odd`` class is the door itself: those
requests must be refused, and a 2xx to one of them is reported as *accepted*.

Routes come from the running apps (fuzz_routes.py), so a new route is fuzzed with the
generic classes at once; the route kinds below add what each known route reads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Optional

from anxin.bench.fuzz_channel_inputs import (
    c_as_abrupt,
    c_as_bad_kind,
    c_as_bad_length,
    c_as_dtmf_odd,
    c_as_garbage,
    c_as_order,
    c_as_rates,
    c_as_truncated,
    c_safe_mode_odd,
    c_update_odd,
    c_voice_audio,
    c_ws_abrupt,
    c_ws_bad_frames,
    c_ws_garbage,
    c_ws_handshake,
    c_xml_attack,
)
from anxin.bench.fuzz_http_inputs import (
    c_abrupt,
    c_auth_odd,
    c_bad_body,
    c_big_numbers,
    c_csrf_odd,
    c_deep_nesting,
    c_header_odd,
    c_huge_body,
    c_length_lies,
    c_login_odd,
    c_long_string,
    c_non_object,
    c_non_utf8,
    c_not_http,
    c_odd_path,
    c_query_bomb,
    c_surrogates,
    c_wrong_method,
    c_wrong_types,
)
from anxin.bench.fuzz_requests import (
    AUDIOSOCKET_ROUTE,
    AUTH_KINDS,
    GROUPS,
    HTTP_KINDS,
    Builder,
    Built,
    Context,
    Opts,
    Probe,
    Route,
    base_fields,
    render,
)

# What the rest of the bench (and its tests) take from here.
__all__ = ["AUDIOSOCKET_ROUTE", "CLASSES", "GROUPS", "Built", "Context", "Opts", "Probe",
           "Route", "base_fields", "build", "plan", "render"]  # fmt: skip


# -- the class table ------------------------------------------------------------------


@dataclass(frozen=True)
class Klass:
    build: Builder
    applies: Callable[[Route], bool]
    weight: int = 1


def _kinds(*kinds: str) -> Callable[[Route], bool]:
    return lambda r: r.kind in kinds


def _http(r: Route) -> bool:
    return r.kind in HTTP_KINDS


def _http_not_ws(r: Route) -> bool:
    return r.kind in HTTP_KINDS and r.kind != "voice-ws"


CLASSES: dict[str, Klass] = {
    "wrong-method": Klass(c_wrong_method, _http),
    "length-lies": Klass(c_length_lies, _http_not_ws),
    "huge-body": Klass(c_huge_body, _http_not_ws),
    "bad-body": Klass(c_bad_body, _http_not_ws),
    "non-object": Klass(c_non_object, _http_not_ws),
    "deep-nesting": Klass(c_deep_nesting, _http),
    "non-utf8": Klass(c_non_utf8, _http),
    "surrogates-controls": Klass(c_surrogates, _http),
    "long-string": Klass(c_long_string, _http),
    "wrong-types": Klass(c_wrong_types, _http),
    "big-numbers": Klass(c_big_numbers, _http),
    "odd-path": Klass(c_odd_path, _http),
    "query-bomb": Klass(c_query_bomb, _http),
    "header-odd": Klass(c_header_odd, _http),
    "not-http": Klass(c_not_http, _http),
    "abrupt": Klass(c_abrupt, _http_not_ws),
    "auth-odd": Klass(c_auth_odd, lambda r: r.kind in AUTH_KINDS),
    "csrf-odd": Klass(c_csrf_odd, _kinds("staff-form", "staff-api-post"), 2),
    "login-odd": Klass(c_login_odd, _kinds("staff-login"), 2),
    "xml-attack": Klass(c_xml_attack, _kinds("wechat-post"), 2),
    "safe-mode-odd": Klass(c_safe_mode_odd, _kinds("wechat-post"), 2),
    "voice-audio": Klass(c_voice_audio, _kinds("wechat-post", "telegram-post", "voice-turn"), 3),
    "update-odd": Klass(c_update_odd, _kinds("telegram-post"), 2),
    "ws-handshake": Klass(c_ws_handshake, _kinds("voice-ws"), 3),
    "ws-bad-frames": Klass(c_ws_bad_frames, _kinds("voice-ws"), 4),
    "ws-garbage": Klass(c_ws_garbage, _kinds("voice-ws"), 4),
    "ws-abrupt": Klass(c_ws_abrupt, _kinds("voice-ws"), 3),
    "as-bad-kind": Klass(c_as_bad_kind, _kinds("audiosocket")),
    "as-bad-length": Klass(c_as_bad_length, _kinds("audiosocket")),
    "as-truncated": Klass(c_as_truncated, _kinds("audiosocket")),
    "as-order": Klass(c_as_order, _kinds("audiosocket")),
    "as-garbage": Klass(c_as_garbage, _kinds("audiosocket")),
    "as-abrupt": Klass(c_as_abrupt, _kinds("audiosocket")),
    "as-dtmf-odd": Klass(c_as_dtmf_odd, _kinds("audiosocket")),
    "as-rates": Klass(c_as_rates, _kinds("audiosocket")),
}


def plan(
    routes: list[Route],
    requests: int,
    seed: int,
    groups: Optional[set[str]] = None,
    classes: Optional[set[str]] = None,
) -> list[Probe]:
    """``requests`` probes spread over groups, then classes (by weight), then routes."""
    rng = random.Random(seed)
    by_group: dict[str, list[Route]] = {}
    for r in sorted(routes, key=lambda r: (r.group, r.key)):
        if groups is None or r.group in groups:
            by_group.setdefault(r.group, []).append(r)
    names = [g for g in GROUPS if g in by_group] + sorted(set(by_group) - set(GROUPS))
    cycles: dict[str, list[tuple[str, list[Route]]]] = {}
    for g in names:
        cycle = []
        for name, klass in CLASSES.items():
            if classes is not None and name not in classes:
                continue
            fits = [r for r in by_group[g] if klass.applies(r)]
            if fits:
                cycle += [(name, fits)] * klass.weight
        if cycle:
            cycles[g] = cycle
    names = [g for g in names if g in cycles]
    if not names:
        return []
    probes: list[Probe] = []
    for gi, g in enumerate(names):
        count = requests // len(names) + (1 if gi < requests % len(names) else 0)
        cycle = cycles[g]
        turns: dict[str, int] = {}
        for i in range(count):
            name, fits = cycle[i % len(cycle)]
            n = turns.get(name, 0)
            turns[name] = n + 1
            route = fits[n % len(fits)]
            probes.append(Probe(0, g, route.key, name, rng.getrandbits(63)))
    rng.shuffle(probes)  # groups interleaved in time, as traffic would be
    return [Probe(i, p.group, p.route, p.klass, p.seed) for i, p in enumerate(probes)]


def build(probe: Probe, route: Route, ctx: Context) -> Built:
    return CLASSES[probe.klass].build(route, ctx, random.Random(probe.seed))
