"""Who may talk to the portal: loopback by default, a token for anything else.

The token travels as ``Authorization: Bearer <token>``, or once in the address (``?token=``),
after which the browser keeps it in an HTTP-only cookie. Without a token the portal only
answers requests addressed to a loopback name, so a web page elsewhere cannot reach it through
DNS rebinding. Requests that change state (anything but GET, HEAD, OPTIONS) are refused when they
come from another site, and the cookie never authenticates them: only the bearer header does
(the REST routes also want a token on loopback, see ``_rest``).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from hyperpipe.exceptions import ConfigError

if TYPE_CHECKING:
    from typing import Any

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "TokenGate", "check_binding", "cross_site", "is_loopback"]

COOKIE = "hyperpipe_portal_token"
# What a token may hold: it travels in a header, a cookie and an address unchanged.
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# No inline script anywhere: a string that slipped through escaping still could not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the portal reachable from this machine only."""
    if host.strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve a non-loopback address without a token."""
    if token is not None and len(token) < 8:
        raise ConfigError("the portal token is too short: use at least 8 characters")
    if token is not None and not _TOKEN.fullmatch(token):
        bad = sorted({repr(c) for c in token if not _TOKEN.fullmatch(c)})
        raise ConfigError(
            f"the portal token has characters a browser cannot send back ({', '.join(bad)}): "
            "use letters, digits and - _ . ~ + / = only (for example: "
            f"{secrets.token_urlsafe(16)})"
        )
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"binding the portal to {host} makes it reachable from other machines, so it needs "
            "a token: pass --token TOKEN or set HYPERPIPE_PORTAL_TOKEN "
            f"(for example: {secrets.token_urlsafe(16)})"
        )


class TokenGate:
    """ASGI middleware: every request carries the token, or is answered 401."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        unsafe = scope.get("method", "GET") not in SAFE_METHODS
        if unsafe and cross_site(headers):
            await _plain(send, 403, "cross-site requests may not change anything here")
            return
        if self.token is None:
            host = _hostname(headers.get("host", ""))
            if host and not is_loopback(host):
                await _plain(
                    send,
                    400,
                    f"unexpected Host header {host!r}: open the portal by "
                    "a loopback address, or start it with --token",
                )
                return
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if _matches(query.get("token"), self.token):
            # Keep the token out of the address bar and history: set the cookie, drop the param.
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            # One leading slash: "//other.host/x" would send the browser to another site.
            location = "/" + scope["path"].lstrip("/\\") + (f"?{rest}" if rest else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode("latin-1")),
                        (
                            b"set-cookie",
                            f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode(
                                "latin-1"
                            ),
                        ),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        bearer = headers.get("authorization", "")
        given = bearer[7:] if bearer.lower().startswith("bearer ") else None
        if given is None and not unsafe:  # a cookie never authenticates a change
            cookie = SimpleCookie(headers.get("cookie", ""))
            given = cookie[COOKIE].value if COOKIE in cookie else None
        if not _matches(given, self.token):
            await _plain(
                send,
                401,
                "this portal needs its token: open it as /?token=TOKEN, or send "
                "'Authorization: Bearer TOKEN'",
                extra=[(b"www-authenticate", b"Bearer")],
            )
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware adding a strict content-security policy and related headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in (
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ):
                    if name not in names:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def cross_site(headers: Any) -> bool:
    """Whether a request says it comes from another site: an ``Origin`` that is not this
    server's own (scheme-less compare against ``Host``), or ``Sec-Fetch-Site: cross-site``."""
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = headers.get("origin")
    if not origin:
        return False
    if origin == "null":
        return True
    return origin.split("://", 1)[-1].rstrip("/").lower() != headers.get("host", "").lower()


def _hostname(header: str) -> str:
    """The name in a Host header, without the port (``[::1]:80`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0]


def _matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


async def _plain(
    send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *(extra or [])],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})
