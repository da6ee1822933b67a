"""A thin layer over aiohttp: every route is declared once with its models and scope, and from that declaration
come validation, the error shape, the scope check, tenant scoping and ``/openapi.json``.

Error body, for every error the service returns::

    {"error": {"code": "validation_failed", "message": "...", "details": [{"path": "body.priority", "reason": "..."}]}}
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol, TypeVar

import asyncpg
from aiohttp import web
from pydantic import AfterValidator, BaseModel, ValidationError

from nfsync.connectors.base.client import MissingCredential
from nfsync.connectors.base.errors import NfsyncError, NotFound, ValidationFailed
from nfsync.workers.api.auth import Principal, authenticate
from nfsync.workers.api.limits import Limits, enforce
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.errors import DependencyUnavailable, SecretError
from nfsync.workers.logs import get_logger

_M = TypeVar("_M", bound=BaseModel)

log = get_logger(__name__)
CURRENT_PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)
Resolver = Callable[[str], Awaitable[Principal | None]]


class Gate(Protocol):
    """What this layer needs from the application to admit a call. It is handed to ``Api.install`` (the service's
    one state, workers/api/state.py, is a Gate), not read from an application key: this layer stays generic, knows
    nothing of the rest of that state, and the state is still held once."""

    @property
    def resolve_principal(self) -> Resolver: ...

    @property
    def limits(self) -> Limits: ...

    @property
    def body_timeout(self) -> float:
        """Seconds a JSON body may take to arrive (408 after)."""
        ...


MAX_JSON_DEPTH = 32  # nesting of a request body; deeper is refused with 422 (nothing nfsync takes is that deep)
MAX_TOKEN_LENGTH = 200


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 and the like
        raise ValueError("time is out of range once converted to UTC") from None


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""A time in a response: the database's UTC `timestamp` with its zone made explicit (RFC 3339)."""


def reject_nul(value: Any, where: str) -> None:
    """PostgreSQL text cannot hold NUL characters: refuse them at the door with a 422, not a 503 later. Nesting
    deeper than MAX_JSON_DEPTH is refused too (walked with a stack: no recursion for a hostile body to exhaust)."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidRequest([ErrorDetail(path=path, reason=f"nested deeper than {MAX_JSON_DEPTH} levels")])
        if isinstance(item, str) and "\x00" in item:
            raise InvalidRequest([ErrorDetail(path=path, reason="NUL characters are not allowed")])
        if isinstance(item, dict):
            stack.extend((key, path, depth + 1) for key in item)
            stack.extend((child, f"{path}.{key}", depth + 1) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{index}", depth + 1) for index, child in enumerate(item))


class ErrorDetail(BaseModel):
    path: str
    reason: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorBody(BaseModel):
    error: ErrorInfo


def error_response(status: int, code: str, message: str, details: list[ErrorDetail] | None = None) -> web.Response:
    body = ErrorBody(error=ErrorInfo(code=code, message=message, details=details or []))
    return web.json_response(body.model_dump(), status=status)


def validation_details(exc: ValidationError, where: str) -> list[ErrorDetail]:
    return [ErrorDetail(path=".".join([where, *(str(p) for p in e["loc"])]), reason=e["msg"]) for e in exc.errors()]


@dataclass
class Call:
    """What a handler receives: the request, the caller, the validated body and query, path parameters."""

    request: web.Request
    principal: Principal | None
    body: BaseModel | None = None
    query: BaseModel | None = None

    def body_as(self, model: type[_M]) -> _M:
        """The validated body as the route's body model (the route declares it; a mismatch is a programming error)."""
        return _as(self.body, model, "body")

    def query_as(self, model: type[_M]) -> _M:
        """The validated query as the route's query model."""
        return _as(self.query, model, "query")

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    def path_uuid(self, name: str) -> uuid.UUID:
        try:
            return uuid.UUID(self.request.match_info[name])
        except ValueError:
            raise NotFound(f"no {name.removesuffix('_id')} {self.request.match_info[name]!r}") from None

    @property
    def organization_id(self) -> uuid.UUID:
        """The caller's organization, for what is created in one; an operator has none (403)."""
        assert self.principal is not None
        if self.principal.organization_id is None:
            raise web.HTTPForbidden(reason="an operator token belongs to no organization; use one of the organization")
        return self.principal.organization_id

    @property
    def tenant(self) -> uuid.UUID | None:
        """The organization to filter by: None for an operator token (all organizations)."""
        return None if self.principal is None else self.principal.organization_id


def _as(value: BaseModel | None, model: type[_M], part: str) -> _M:
    if not isinstance(value, model):
        raise TypeError(f"the route's {part} is {type(value).__name__}, not {model.__name__}")
    return value


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    scope: str | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    tags: tuple[str, ...] = ()
    raw_body: bool = False
    public: bool = False


@dataclass
class Api:
    routes: list[Route] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, summary: str, scope: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, path, handler, summary, scope, **options))
            return handler

        return register

    def install(self, app: web.Application, gate: Gate) -> None:
        for route in self.routes:
            app.router.add_route(route.method, route.path, _endpoint(route, gate))


def _endpoint(route: Route, gate: Gate) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        if route.public and not route.path.startswith("/webhooks/"):
            _limit(gate, "ip", request.remote or "-")
        principal = None if route.public else await _authorize(request, route.scope, gate)
        token = CURRENT_PRINCIPAL.set(principal)
        try:
            call = Call(request, principal, await _body(request, route, gate.body_timeout), _query(request, route))
            result = await route.handler(call)
        finally:
            CURRENT_PRINCIPAL.reset(token)
        if isinstance(result, web.StreamResponse):
            return result
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return web.json_response(payload, status=route.status, dumps=_dumps)

    return endpoint


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


async def _authorize(request: web.Request, scope: str | None, gate: Gate) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise web.HTTPUnauthorized(reason="a bearer token is required")
    token = token.strip()
    if not token.isascii() or len(token) > MAX_TOKEN_LENGTH:  # no token nfsync issues looks like that
        raise web.HTTPUnauthorized(reason="unknown or revoked token")
    principal = await gate.resolve_principal(token.strip())
    if principal is None:
        _limit(gate, "ip", request.remote or "-")  # guessing tokens costs the caller's address its budget
        raise web.HTTPUnauthorized(reason="unknown or revoked token")
    _limit(gate, "token", str(principal.token_id))
    if scope is not None and not principal.allows(scope):
        raise web.HTTPForbidden(reason=f"this token lacks the {scope} scope")
    return principal


def _limit(gate: Gate, kind: str, key: str) -> None:
    enforce(gate.limits.per_token if kind == "token" else gate.limits.per_ip, key)


async def _body(request: web.Request, route: Route, deadline: float) -> BaseModel | None:
    if route.raw_body or route.body is None:
        return None
    try:
        data = await asyncio.wait_for(request.json(), deadline) if request.can_read_body else None
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason="the body did not arrive in time") from None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ValidationFailed("the body is not valid JSON (or is nested too deeply)") from None
    reject_nul(data, "body")
    try:
        return route.body.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(validation_details(exc, "body")) from None


def _query(request: web.Request, route: Route) -> BaseModel | None:
    if route.query is None:
        return None
    reject_nul(dict(request.query), "query")
    try:
        return route.query.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidRequest(validation_details(exc, "query")) from None


class InvalidRequest(Exception):
    """A 422 with field paths (what pydantic cannot check alone, e.g. against the operator's settings)."""

    def __init__(self, details: list[ErrorDetail]) -> None:
        super().__init__("invalid request")
        self.details = details


_STATUS_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure becomes the one documented error shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, status_code(exc.status), exc.reason)
        if "Retry-After" in exc.headers:
            response.headers["Retry-After"] = exc.headers["Retry-After"]
        return response
    except Exception as exc:  # translated here, at the one boundary
        return _translate(request, exc)


_UNAVAILABLE = (DependencyUnavailable, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
# Errors PostgreSQL raises because of what the request carried (a constraint, a value out of range): the
# handlers check what they can; these are the safety net, still a 4xx.
_BAD_DATA = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError)


def _translate(request: web.Request, exc: Exception) -> web.Response:
    status, error, event = classify_error(exc, "request")
    if event:
        log.info(event, path=request.path, error=(str(exc) or type(exc).__name__)[:300])
    elif status == 500:
        log.error("api.crashed", path=request.path, exc_info=exc)
    return error_response(status, error.code, error.message, error.details)


def classify_error(exc: Exception, where: str) -> tuple[int, ErrorInfo, str | None]:
    """The one error taxonomy, for HTTP and the AMQP commands alike: an exception's HTTP status, its error (the body's
    ``error``) and the event to log it under (None: nothing to log; a 500 is logged by the caller). ``where`` prefixes
    the paths of a pydantic ValidationError's details (``request``, ``body``)."""
    if isinstance(exc, InvalidRequest):
        return 422, ErrorInfo(code="validation_failed", message="the request is invalid", details=exc.details), None
    if isinstance(exc, ValidationError):  # a model a handler builds from the request (headers, merged values)
        details = validation_details(exc, where)
        return 422, ErrorInfo(code="validation_failed", message="the request is invalid", details=details), None
    for kinds, status, code, message, event in _TRANSLATIONS:
        if isinstance(exc, kinds):
            text = exc.message if isinstance(exc, NfsyncError) and message is None else message
            return status, ErrorInfo(code=code, message=text or ""), event
    return 500, ErrorInfo(code="internal", message="internal error"), None


def status_code(status: int) -> str:
    """The error code of an HTTP status the layer answers by itself (401 ``unauthorized``, 403 ``forbidden``...)."""
    return _STATUS_CODES.get(status, "http_error")


# (exception types, status, code, message (None: the exception's own), log event) - first match wins.
_TRANSLATIONS: list[tuple[tuple[type[Exception], ...], int, str, str | None, str | None]] = [
    ((ValidationFailed, MissingCredential), 422, "validation_failed", None, None),
    ((NotFound,), 404, "not_found", None, None),
    ((SecretError,), 503, "unavailable", "a stored secret cannot be read; retry later", "api.secret_unreadable"),
    (
        _BAD_DATA,
        422,
        "validation_failed",
        "the request conflicts with stored data or a constraint",
        "api.rejected_by_database",
    ),
    (_UNAVAILABLE, 503, "unavailable", "a dependency is unavailable; retry later", "api.dependency_unavailable"),
    ((NfsyncError,), 400, "bad_request", None, None),
]


def principal_resolver(system_pool: asyncpg.Pool) -> Resolver:
    async def resolve(token: str) -> Principal | None:
        return await authenticate(system_pool, token)

    return resolve


async def scope_connection(conn: asyncpg.Connection) -> None:
    """Pool ``setup`` of the tenant pool: every acquired connection takes the application role and the current
    caller's organization, so row-level security applies to whatever runs on it."""
    principal = CURRENT_PRINCIPAL.get()
    operator = principal is not None and principal.operator
    organization = "" if principal is None or principal.organization_id is None else str(principal.organization_id)
    await conn.execute(QUERIES["api_scope"], organization, "none" if operator else "nfsync_app")
