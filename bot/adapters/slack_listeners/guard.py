"""HTTP mode's gate in front of Bolt: a request Slack would never send (a timestamp that is no
number, a body that is not UTF-8 or not JSON, a button press naming no user) is answered 401
or 400 with one log line, instead of a 500 with a traceback or a KeyError in a background job.

The signature is judged first, so someone without the signing secret learns nothing about how
we parse. Bolt verifies it again and parses the body itself: this only makes sure it can.
Socket Mode has no HTTP gate, so `register` puts the same body check inside Bolt: there such a
payload is acknowledged (a retry would be as malformed) and dropped, with one log line."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.internals import parse_body
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_guard(signing_secret: str, path: str) -> Any:
    """An aiohttp middleware that refuses malformed requests to `path`."""
    verifier = SignatureVerifier(signing_secret or "unset")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path or request.method != "POST":
            return await handler(request)
        problem = await _problem(request, verifier)
        if problem is None:
            return await handler(request)
        status, reason = problem
        log.warning("refused a Slack request (%d): %s", status, reason)
        return web.Response(status=status, text=reason)

    return guard


async def _problem(request: web.Request, verifier: SignatureVerifier) -> tuple[int, str] | None:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return 401, "the request timestamp is not a number"
    raw = await request.read()  # aiohttp keeps it: Bolt reads the same bytes
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "the body is not UTF-8"
    if not verifier.is_valid(text, timestamp, request.headers.get("X-Slack-Signature")):
        return 401, "the signature is missing, wrong or too old"
    try:
        body = parse_body(text, request.content_type)
    except ValueError:
        return 400, "the body is not valid JSON"
    if not isinstance(body, dict):
        return 400, "the body is not a JSON object"
    missing = _missing(body)
    return (400, missing) if missing else None


def register(app: AsyncApp) -> None:
    """The body check as Bolt middleware, ahead of every listener (for Socket Mode)."""

    @app.middleware
    async def refuse_malformed_payloads(body: Any, next_: Callable[[], Awaitable[Any]]) -> Any:
        missing = _missing(body) if isinstance(body, dict) else "the body is not a JSON object"
        if missing is None:
            return await next_()
        log.warning("dropped a Slack payload: %s", missing)
        return BoltResponse(status=200, body="")


def _missing(body: dict[str, Any]) -> str | None:
    """What a parsed body lacks that our listeners rely on."""
    if "command" in body:
        return None if body.get("user_id") else "a slash command without user_id"
    kind = body.get("type")
    if kind == "event_callback":
        return None if isinstance(body.get("event"), dict) else "an event callback without event"
    if kind in ("url_verification", "app_rate_limited") or "ssl_check" in body:
        return None
    user = body.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]:
        return None
    return f"an interactive payload (type {str(kind)[:40]!r}) without a user"
