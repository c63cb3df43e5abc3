"""Every route ``anxin bench fuzz`` attacks, read from the apps themselves.

Rasa's routes (its HTTP API and every input channel's blueprint) come from a Sanic app
built the way ``rasa run`` builds it, from the same credentials file, in a child process
(``python -m anxin.bench.fuzz_routes CREDENTIALS`` prints them as JSON): importing Rasa
costs ~1 GB and 10 s that the bench process need not keep. The staff console's routes
come from its FastAPI app, with the query and form fields each route declares and the
JSON fields its code reads (``body.get("…")``). A route added tomorrow is therefore
fuzzed with the generic classes without touching the bench.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

from anxin.bench.fuzz_inputs import AUDIOSOCKET_ROUTE, Route

# Rasa API routes that would unload the model or start training: never sent a valid token.
DANGER = (("DELETE", "/model"), ("PUT", "/model"), ("POST", "/model/train"),
          ("POST", "/model/test/stories"), ("POST", "/model/test/intents"))  # fmt: skip
PUBLIC = ("/", "/version")  # Rasa answers these without a token, by design


def rasa_route(path: str, method: str, websocket: bool,
               params: list[tuple[str, str]]) -> Route:  # fmt: skip
    """One Sanic route as the fuzz sees it: its group and what it reads."""
    params_t = tuple(params)
    parts = path.strip("/").split("/")
    if parts[0] == "webhooks" and len(parts) >= 2:
        channel, rest = parts[1], "/".join(parts[2:])
        if channel == "rest":
            kind = {"webhook": "rest", "": "health"}.get(rest, "rest-poll")
            return Route("rest", method, path, kind, params_t)
        if channel == "wechat":
            kind = "health" if not rest else ("wechat-post" if method == "POST" else "wechat-get")
            return Route("wechat", method, path, kind, params_t)
        if channel == "telegram":
            kind = "telegram-post" if rest == "webhook" and method == "POST" else "health"
            return Route("telegram", method, path, kind, params_t)
        if channel == "voice":
            if websocket:
                return Route("voice-ws", "WS", path, "voice-ws", params_t)
            other = "health" if method == "GET" else "generic"
            kind = {"turn": "voice-turn", "audiosocket/calls": "voice-register"}.get(rest, other)
            return Route("voice-http", method, path, kind, params_t)
        return Route(f"webhooks-{channel}", method, path,
                     "health" if method == "GET" else "generic", params_t)  # fmt: skip
    if path in PUBLIC:
        return Route("rasa-api", method, path, "health", params_t)
    kind = "rasa-get" if method == "GET" else "rasa-json"
    return Route("rasa-api", method, path, kind, params_t, danger=(method, path) in DANGER)


def _sanic_path(raw: str) -> tuple[str, list[tuple[str, str]]]:
    """``conversations/<conversation_id:path>/tracker`` → ``/conversations/{conversation_id}
    /tracker`` and its parameters."""
    params: list[tuple[str, str]] = []

    def swap(m: re.Match[str]) -> str:
        name, _, label = m.group(1).partition(":")
        params.append((name, "int" if label in ("int", "number") else "str"))
        return "{" + name + "}"

    return "/" + re.sub(r"<([^>]+)>", swap, raw), params


def list_rasa_routes(credentials: str) -> list[dict[str, Any]]:
    """(In the child process.) The app ``rasa run`` would serve with these credentials."""
    from rasa.core.run import configure_app, create_http_input_channels

    channels = create_http_input_channels(None, credentials)
    app = configure_app(input_channels=channels, enable_api=True, auth_token="listing")
    out = []
    for r in app.router.routes:
        path, params = _sanic_path(r.raw_path)
        websocket = bool(getattr(r.ctx, "websocket", False))
        for method in sorted(r.methods):
            out.append({"path": path, "method": method, "websocket": websocket,
                        "params": params})  # fmt: skip
    return out


def rasa_routes(credentials: Path, env: Mapping[str, str], root: Path) -> list[Route]:
    """Rasa's routes for this stack, listed in a child process with the stack's settings."""
    done = subprocess.run(
        [sys.executable, "-m", "anxin.bench.fuzz_routes", str(credentials)],
        cwd=root, env=dict(env), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError("listing Rasa's routes failed:\n" + done.stderr[-3000:])
    listed = json.loads(done.stdout.strip().splitlines()[-1])
    return [rasa_route(x["path"], x["method"], x["websocket"], [tuple(p) for p in x["params"]])
            for x in listed]  # fmt: skip


def _annotation(field: Any) -> str:
    kind = getattr(field, "outer_type_", None) or getattr(field, "type_", None)
    # A bounded id (staff.limits.RecordId) is pydantic's constrained subclass of int.
    return "int" if isinstance(kind, type) and issubclass(kind, int) else "str"


READS = {
    # query_params.get("lang"), or a helper handed the request and a name (not a message key)
    "query": (r"query_params\.get\(\s*\"(\w+)\"", r"(?<!message)\(request, \"(\w+)\""),
    "json": (r"body\.get\(\"(\w+)\"",),
}


def _reads(fn: Any, what: str, depth: int = 3, seen: Optional[set[Any]] = None) -> list[str]:
    """The query or JSON field names a handler reads by hand, following the console's own
    helpers it calls (``filters_from(request)`` → ``_text(request, "channel")``)."""
    seen = seen if seen is not None else set()
    seen.add(fn)
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return []
    names = [n for pattern in READS[what] for n in re.findall(pattern, source)]
    if depth:
        for called in re.findall(r"\b(\w+)\(", source):
            g = getattr(fn, "__globals__", {}).get(called)
            if inspect.isfunction(g) and g.__module__.startswith("staff.") and g not in seen:
                names += _reads(g, what, depth - 1, seen)
    return names


def staff_routes(care: Any) -> list[Route]:
    """The console's routes from its app (no server started)."""
    from fastapi.routing import APIRoute

    from staff.app import create_app

    app = create_app(care)
    routes = []
    for r in app.routes:
        if not isinstance(r, APIRoute):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path)
        deps = [r.dependant]
        params: dict[str, str] = {}
        query: list[str] = []
        form: list[str] = []
        while deps:
            d = deps.pop()
            deps.extend(d.dependencies)
            for p in d.path_params:
                params[p.name] = _annotation(p)
            query += [q.name for q in d.query_params]
            form += [b.name for b in d.body_params]
        query += _reads(r.endpoint, "query")
        api = path.startswith("/api/")
        for method in sorted(r.methods or ()):
            if path == "/healthz":
                kind = "health"
            elif path == "/login" and method == "POST":
                kind = "staff-login"
            elif api:
                kind = "staff-api-get" if method == "GET" else "staff-api-post"
            else:
                kind = "staff-page" if method == "GET" else "staff-form"
            fields = _reads(r.endpoint, "json") if kind == "staff-api-post" else form
            routes.append(Route("staff-api" if api else "staff-pages", method, path, kind,
                                tuple(params.items()), tuple(dict.fromkeys(query)),
                                tuple(dict.fromkeys(fields))))  # fmt: skip
    return routes


def all_routes(credentials: Path, env: Mapping[str, str], root: Path, care: Any,
               audiosocket: bool) -> list[Route]:  # fmt: skip
    routes = rasa_routes(credentials, env, root) + staff_routes(care)
    if audiosocket:
        routes.append(AUDIOSOCKET_ROUTE)
    return routes


def main(argv: Optional[list[str]] = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(json.dumps(list_rasa_routes(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
