"""The web join form: `GET /join` (a plain HTML form, no JavaScript needed), `POST /join`, and
each request's private status page `GET /join/status/<token>`.

- CSRF: a random nonce in a cookie (HttpOnly, SameSite=Strict) and its HMAC in the form; a
  post whose two do not match is refused and nothing is read from it.
- Validation is the one `!join` uses; a refused form comes back with every problem naming its
  field and the values kept (escaped: HTML typed in a field is shown as text). The problems are
  listed in a summary that takes the focus and links to each field, and shown again at each
  field, which names them (``aria-describedby``) and is marked ``aria-invalid``.
- The status link carries an unguessable token; the store keeps only its hash.
- Posts are limited per client (``MAX_POSTS_PER_HOUR``), against a flood of fake requests: the
  client's address as the trusted reverse proxy gives it (``bot.web.clients``), counted in the
  store under a keyed hash (a restart keeps the count, the store keeps no address).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Protocol

import jinja2
from aiohttp import web

from bot.config import Config
from bot.errors import UserError
from bot.i18n import t
from bot.store.vetting import RequestRow
from bot.vetting.form import (
    FIELDS,
    LIMITS,
    FieldProblem,
    FormProblems,
    offered,
    render_problems,
    validate,
)
from bot.vetting.links import CONFIRM_PATH, STATUS_PATH, hash_token, new_status_token
from bot.web.clients import client_address, limit_key, networks

CSRF_COOKIE = "agora_csrf"
MAX_POSTS_PER_HOUR = 20
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


class JoinServices(Protocol):
    @property
    def config(self) -> Config: ...

    async def web_secret(self) -> bytes: ...

    async def file_web_request(
        self, values: dict[str, str], status_hash: str, locale: str
    ) -> RequestRow: ...

    async def web_request(self, status_hash: str) -> tuple[RequestRow, int, int] | None: ...

    async def directory_refusal(self, request: RequestRow, locale: str) -> str | None: ...

    async def web_request_to_confirm(self, token: str) -> RequestRow | None: ...

    async def confirm_web_request(self, token: str) -> tuple[str, RequestRow | None]: ...

    async def count_web_post(self, client: str, limit: int) -> bool: ...


def _locale(request: web.Request, default: str) -> str:
    asked = request.query.get("lang")
    if asked in ("fr", "en"):
        return asked
    accept = request.headers.get("Accept-Language", "")
    if accept and accept.lower().startswith("en"):
        return "en"
    return default


def _render(template: str, locale: str, status: int = 200, **context: Any) -> web.Response:
    def tr(key: str, **kw: Any) -> str:
        return t(key, locale, **kw)

    body = _templates.get_template(template).render(locale=locale, t=tr, **context)
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )


def masked(email: str) -> str:
    """``n.benali@example.org`` → ``n•••@example.org``: enough to recognise it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


@dataclass(frozen=True)
class Shown:
    """A refused form's problems as the page shows them."""

    summary: list[tuple[str | None, str]]  # (the field its line links to, or None; the line)
    at_field: dict[str, list[str]]  # a field → its own messages, shown next to it


def shown(problems: list[FieldProblem], locale: str) -> Shown:
    """Each problem once in the summary, linked to its (first) field, in the form's order, and
    at every field it names: "rpps/adeli" (an identifier is required) at both."""
    summary: list[tuple[str | None, str]] = []
    at_field: dict[str, list[str]] = {}
    for p in problems:
        fields = [f for f in p.field.split("/") if f in FIELDS]
        summary.append((fields[0] if fields else None, render_problems([p], locale)))
        text = t(p.key, locale, **p.params)
        for f in fields:
            at_field.setdefault(f, []).append(text[:1].upper() + text[1:])
    summary.sort(key=lambda line: FIELDS.index(line[0]) if line[0] else len(FIELDS))
    return Shown(summary, at_field)


class JoinPages:
    def __init__(self, services: JoinServices):
        self.services = services

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/join", self.form)
        app.router.add_post("/join", self.submit)
        app.router.add_get(STATUS_PATH + "{token}", self.status)
        # GET shows a button, POST confirms: a mail scanner that opens links confirms nothing.
        app.router.add_get(CONFIRM_PATH + "{token}", self.confirm_page)
        app.router.add_post(CONFIRM_PATH + "{token}", self.confirm)

    async def _csrf(self, nonce: str) -> str:
        return hmac.new(await self.services.web_secret(), nonce.encode(), sha256).hexdigest()

    def _territories(self) -> list[tuple[str, str]]:
        return [
            (t_.id, " › ".join([*(a.name for a in ancestors), t_.name]))
            for t_, ancestors in self.services.config.network.walk()
        ]

    async def _form(
        self,
        request: web.Request,
        locale: str,
        *,
        values: dict[str, str] | None = None,
        problems: Shown | None = None,
        status: int = 200,
    ) -> web.Response:
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        problems = problems or Shown([], {})
        title = t("web.join.title", locale)
        if problems.summary:  # said first in the window's title, read before anything else
            title = t("web.join.error", locale) + " " + title
        resp = _render(
            "join.html",
            locale,
            status,
            title=title,
            csrf=await self._csrf(nonce),
            values={f: (values or {}).get(f, "") for f in FIELDS},
            problems=problems.summary,
            errors=problems.at_field,
            professions=offered(self.services.config.vetting.professions),
            territories=self._territories(),
            limits=LIMITS,
        )
        resp.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/join")
        return resp

    async def form(self, request: web.Request) -> web.Response:
        return await self._form(request, _locale(request, self.services.config.locale))

    async def _limited(self, request: web.Request) -> bool:
        web_config = self.services.config.web
        address = client_address(
            request.remote,
            request.headers.get("X-Forwarded-For"),
            networks(web_config.trusted_proxies),
        )
        key = hmac.new(
            await self.services.web_secret(), f"post:{limit_key(address)}".encode(), sha256
        ).hexdigest()[:32]
        return not await self.services.count_web_post(key, MAX_POSTS_PER_HOUR)

    async def submit(self, request: web.Request) -> web.Response:
        locale = _locale(request, self.services.config.locale)
        try:
            form = await request.post()
        except ValueError:  # over client_max_size
            return self._message(locale, "web.error.too_big", 413)
        nonce = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not nonce or not hmac.compare_digest(sent, await self._csrf(nonce)):
            return self._message(locale, "web.error.csrf", 403)
        if await self._limited(request):
            return self._message(locale, "web.error.too_many", 429)
        values = {f: str(form.get(f, "")) for f in FIELDS}
        try:
            config = self.services.config
            validate(values, config.network, offered(config.vetting.professions))
        except FormProblems as exc:
            problems = shown(exc.problems, locale)
            return await self._form(request, locale, values=values, problems=problems, status=400)
        token, digest = new_status_token()
        try:
            await self.services.file_web_request(values, digest, locale)
        except UserError as exc:
            problems = Shown([(None, exc.render(locale))], {})
            return await self._form(request, locale, values=values, problems=problems, status=409)
        raise web.HTTPSeeOther(f"{STATUS_PATH}{token}?lang={locale}", headers=SECURITY_HEADERS)

    async def status(self, request: web.Request) -> web.Response:
        found = await self.services.web_request(hash_token(request.match_info["token"]))
        if found is None:
            locale = _locale(request, self.services.config.locale)
            return self._message(locale, "web.error.unknown_status", 404)
        row, approvals, required = found
        # Unless asked otherwise, in the language the applicant filled the form in.
        locale = _locale(request, row.locale or self.services.config.locale)
        return _render(
            "status.html",
            locale,
            title=t("web.status.title", locale, id=row.id),
            request=row,
            refusal=await self.services.directory_refusal(row, locale),
            approvals=approvals,
            required=required,
            homeserver=self.services.config.homeserver.public_url,
            masked_email=masked(row.email),
            confirm_hours=max(
                1, round(self.services.config.vetting.email_confirmation_expires / 3600)
            ),
        )

    async def confirm_page(self, request: web.Request) -> web.Response:
        locale = _locale(request, self.services.config.locale)
        token = request.match_info["token"]
        row = await self.services.web_request_to_confirm(token)
        if row is None or row.status == "expired":
            return self._message(locale, "web.confirm.unknown", 404)
        if row.status != "unconfirmed":
            return self._message(locale, "web.confirm.already", 200, "web.confirm.title")
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        resp = _render(
            "confirm.html",
            locale,
            title=t("web.confirm.title", locale),
            request=row,
            csrf=await self._csrf(nonce),
            action=f"{CONFIRM_PATH}{token}?lang={locale}",
        )
        resp.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/join")
        return resp

    async def confirm(self, request: web.Request) -> web.Response:
        locale = _locale(request, self.services.config.locale)
        try:
            form = await request.post()
        except ValueError:
            return self._message(locale, "web.error.too_big", 413)
        nonce = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not nonce or not hmac.compare_digest(sent, await self._csrf(nonce)):
            return self._message(locale, "web.error.csrf", 403)
        outcome, row = await self.services.confirm_web_request(request.match_info["token"])
        if outcome == "unknown":
            return self._message(locale, "web.confirm.unknown", 404)
        refusal = None if row is None else await self.services.directory_refusal(row, locale)
        if refusal is not None:  # confirmed, and refused at once by the directory
            text = t("web.confirm.refused", locale) + " " + refusal
            return _render(
                "message.html", locale, 200, title=t("web.confirm.title", locale), message=text
            )
        key = "web.confirm.done" if outcome == "confirmed" else "web.confirm.already"
        return self._message(locale, key, 200, "web.confirm.title")

    def _message(
        self, locale: str, key: str, status: int, title: str = "web.error.title"
    ) -> web.Response:
        return _render(
            "message.html",
            locale,
            status,
            title=t(title, locale),
            message=t(key, locale),
        )
