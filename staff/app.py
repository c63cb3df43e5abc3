"""The console's FastAPI app, built by a factory from services made at start-up.

``create_app`` has no side effects beyond the app it returns; ``serve`` is the
process entry point (``python -m staff`` or ``anxin run``'s ``staff`` process).
"""

from __future__ import annotations

import logging
import sys
from typing import Optional
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from care.errors import InvalidRequest, NotFound
from care.services import CareServices
from staff import (
    alert_pages,
    api,
    bookings_pages,
    conversation_pages,
    handoff_pages,
    pages,
    people_pages,
    recordings_pages,
)
from staff.auth import Console, Forbidden, LoginRequired, is_api
from staff.config import StaffSettings, UnsafeExposure
from staff.limits import BadInput, RequestLimits, json_refusal
from staff.render import environment, message, page

log = logging.getLogger(__name__)


def create_app(care: CareServices, settings: Optional[StaffSettings] = None) -> FastAPI:
    settings = settings or StaffSettings()
    # Refused here too, not only in serve(): whoever serves this app binds settings.host.
    settings.check_exposure()
    # No /docs or /openapi.json: the API's shape is in PRODUCT.md, not served to strangers.
    app = FastAPI(title="Anxin staff console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = Console.of(care, settings)
    app.state.templates = environment()
    # Before pages: /alerts/live must not be read as an alert id.
    app.include_router(handoff_pages.router)
    app.include_router(alert_pages.router)
    app.include_router(pages.router)
    app.include_router(people_pages.router)
    app.include_router(bookings_pages.router)
    app.include_router(conversation_pages.router)
    app.include_router(recordings_pages.router)
    app.include_router(api.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Every request is bounded before routing (size, depth, encoding): see staff/limits.py.
    app.add_middleware(RequestLimits, answer=refusal)
    app.add_exception_handler(BadInput, _bad_input)
    app.add_exception_handler(RequestValidationError, _invalid_parameters)

    @app.exception_handler(LoginRequired)
    def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if is_api(request):
            return JSONResponse(
                {"detail": "authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, _exc: Forbidden) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "forbidden"}, status_code=403)
        return page(request, "error.html", status_code=403, heading=message(request, "forbidden"))

    @app.exception_handler(NotFound)
    def _not_found(request: Request, _exc: NotFound) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return page(request, "error.html", status_code=404, heading=message(request, "not_found"))

    @app.exception_handler(InvalidRequest)
    def _invalid(request: Request, exc: InvalidRequest) -> Response:
        # Our own validation messages name the allowed values, never stored data.
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        heading = f"{message(request, 'bad_request')} {exc}"
        return page(request, "error.html", status_code=400, heading=heading)

    return app


def refusal(request: Request, exc: BadInput) -> Response:
    """A request no route can use: the reason for the API, a page for a browser."""
    if is_api(request):
        return json_refusal(exc)
    return page(request, "error.html", status_code=exc.status,
                heading=message(request, "request_refused"))  # fmt: skip


def _bad_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadInput)
    return refusal(request, exc)


async def _invalid_parameters(request: Request, exc: Exception) -> Response:
    """A path that names no record (an id out of range, negative, not a number) is a
    404, like an unknown id; other parameters get FastAPI's 422 naming the field."""
    assert isinstance(exc, RequestValidationError)
    if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
        if is_api(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return page(request, "error.html", status_code=404, heading=message(request, "not_found"))
    return await request_validation_exception_handler(request, exc)


def serve(settings: Optional[StaffSettings] = None, care: Optional[CareServices] = None) -> int:
    """Run the console until interrupted (migrating first, as the other services do)."""
    import uvicorn

    from care import migrate
    from care.services import build

    settings = settings or StaffSettings.from_env()
    try:
        settings.check_exposure()
    except UnsafeExposure as exc:
        print(f"anxin: {exc}", file=sys.stderr, flush=True)
        return 2
    care = care or build()
    migrate.upgrade(care.db)
    print(
        f"anxin: staff console http://{settings.host}:{settings.port}/  "
        f"(database {care.db.safe_url})",
        flush=True,
    )
    try:
        uvicorn.run(
            create_app(care, settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            # Access lines carry ids and filters from URLs: off unless asked for.
            access_log=settings.access_log,
            proxy_headers=settings.trust_proxy,
            # No websockets here; and Rasa pins a websockets older than uvicorn's own.
            ws="none",
        )
    finally:
        care.close()
    return 0
