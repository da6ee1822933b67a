"""The GraphQL half of the Shopify sandbox: which documents it serves, the answer shapes, the cost bucket, the search
syntax it understands and its cursors.

Facts from docs/platforms/shopify.md and tests/contracts/shopify.json (source keys cited per item); what neither
states is marked UNCONFIRMED. The sandbox serves exactly the documents of ``connectors/shopify/operations.py``:
a document that differs (beyond whitespace and commas, which GraphQL ignores) is refused, so a client that drifts
from the shared operations fails in tests instead of against a real shop.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from nfsync.connectors.shopify import operations as ops

Json = dict[str, Any]
THROTTLE_DOC = "https://shopify.dev/api/usage/limits"  # contract calls.*.errors THROTTLED (documentation UNCONFIRMED)
MAX_AVAILABLE = 1000.0  # SD-RATE-OLD bucket size; contract cost_rules.sandbox_bucket.maximumAvailable
RESTORE_RATE = 50.0  # SD-RATE-OLD leak rate; contract cost_rules.sandbox_bucket.restoreRate (stricter reading)
PAGINATION_MAX = 25_000  # SD-LIMITS: paginating deeper than 25,000 objects is refused


class GqlFailure(Exception):
    """A top-level GraphQL error (HTTP 200, ``errors[]``, no ``data``), raised before execution: nothing charged
    but the answer carries ``extensions.cost`` with the operation's requested cost and an actual cost of 0."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code, **extensions}

    def error(self) -> Json:
        return {"message": self.message, "extensions": self.extensions}


class UserErrors(Exception):
    """A mutation refused in its payload's ``userErrors`` (HTTP 200, ``data`` present): nothing applied."""

    def __init__(self, errors: list[Json]) -> None:
        super().__init__(errors[0]["message"] if errors else "")
        self.errors = errors


def user_error(field: list[str] | None, message: str, code: str | None = None) -> Json:
    """``{field, message, code}``; ``code`` left out for payloads whose document selects no ``code`` (Subscribe,
    Bulk select ``userErrors { field message }``)."""
    error: Json = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


# ---------------------------------------------------------------------------------------------- documents


_PUNCTUATION = re.compile(r"\s*([{}():!$\[\]=@])\s*")


def normalise(document: str) -> str:
    """A document with insignificant characters folded: commas are whitespace in GraphQL, runs of whitespace are
    one space, and none is kept around punctuation."""
    text = re.sub(r"[\s,]+", " ", document).strip()
    return _PUNCTUATION.sub(r"\1", text)


def operation(operations: Mapping[str, ops.Operation], body: Any) -> ops.Operation:
    """The served operation a request body names, or a GraphQL error. ``operationName`` is required here (the
    shared documents each hold one named operation; Shopify itself would run a single unnamed one: the sandbox is
    stricter, UNCONFIRMED)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
        # graphql-ruby's message for a missing document (UNCONFIRMED for Shopify)
        raise GqlFailure("No query string was present", "MISSING_QUERY")
    name = body.get("operationName")
    if not isinstance(name, str) or name not in operations:
        shown = name if isinstance(name, str) else ""
        raise GqlFailure(
            f'No operation named "{shown}"' if shown else "An operationName is required",
            "OPERATION_NOT_FOUND",  # UNCONFIRMED code name
        )
    op = operations[name]
    if normalise(body["query"]) != normalise(op.document):
        raise GqlFailure(
            f"Document for operation {name!r} is not the one this sandbox serves "
            "(connectors/shopify/operations.py); the sandbox refuses any other document",
            "DOCUMENT_MISMATCH",  # sandbox rule, not Shopify's: Shopify would parse and run any valid document
        )
    return op


# ---------------------------------------------------------------------------------------------- answers


def cost_json(requested: int, actual: int | None, available: float, restore: float) -> Json:
    """``extensions.cost`` (SD-RATE, SD-RATE-OLD; contract calls['query shop'].response_sample): floats in
    ``throttleStatus`` as Shopify shows them."""
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": MAX_AVAILABLE,
            "currentlyAvailable": float(int(available)),
            "restoreRate": float(restore),
        },
    }


def answer(data: Json | None, cost: Json | None, errors: list[Json] | None = None) -> web.Response:
    body: Json = {}
    if errors:
        body["errors"] = errors
    if data is not None:
        body["data"] = data
    if cost is not None:
        body["extensions"] = {"cost": cost}
    return web.json_response(body)


def throttled(cost: Json) -> web.Response:
    """HTTP 200, ``errors[0].extensions.code`` THROTTLED, no ``data``, ``actualQueryCost`` null (contract)."""
    error = {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOC}}
    return answer(None, cost, [error])


def max_cost_exceeded(requested: int) -> web.Response:
    """Requested cost over the single-query maximum (SD-RATE-OLD; contract sample: no ``extensions.cost``)."""
    error = {
        "message": f"Query cost is {requested}, which exceeds the single query max cost limit ({ops.MAX_QUERY_COST}).",
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": ops.MAX_QUERY_COST},
    }
    return answer(None, None, [error])


def unauthorized() -> web.Response:
    """HTTP 401 with a string ``errors`` (contract calls.*.errors status 401; text UNCONFIRMED)."""
    body = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    return web.json_response(body, status=401)


def not_found() -> web.Response:
    """An unknown shop domain or API version (shape UNCONFIRMED)."""
    return web.json_response({"errors": "Not Found"}, status=404)


# ---------------------------------------------------------------------------------------------- cost bucket


@dataclass
class Bucket:
    """A leaky bucket per (app, shop) (SD-RATE: the bucket must hold the requested cost before execution, the
    difference to the actual cost is refunded). ``clock`` is injectable so tests measure restoring exactly."""

    available: float
    stamp: float

    def level(self, now: float, restore: float) -> float:
        self.available = min(MAX_AVAILABLE, self.available + max(0.0, now - self.stamp) * restore)
        self.stamp = now
        return self.available


class Buckets:
    def __init__(self, store: dict[str, tuple[float, float]], clock: Callable[[], float]) -> None:
        self._store = store  # SandboxBase._buckets: cleared by /_sandbox/reset
        self.clock = clock

    def _bucket(self, key: str) -> Bucket:
        now = self.clock()
        available, stamp = self._store.get(key, (MAX_AVAILABLE, now))
        return Bucket(available, stamp)

    def level(self, key: str, restore: float) -> float:
        bucket = self._bucket(key)
        level = bucket.level(self.clock(), restore)
        self._store[key] = (bucket.available, bucket.stamp)
        return level

    def take(self, key: str, cost: int, restore: float) -> bool:
        """Charge ``cost`` when the bucket holds it; False (nothing charged) when it does not."""
        bucket = self._bucket(key)
        if bucket.level(self.clock(), restore) < cost:
            self._store[key] = (bucket.available, bucket.stamp)
            return False
        self._store[key] = (bucket.available - cost, bucket.stamp)
        return True

    def refund(self, key: str, amount: int, restore: float) -> None:
        bucket = self._bucket(key)
        bucket.level(self.clock(), restore)
        self._store[key] = (min(MAX_AVAILABLE, bucket.available + max(0, amount)), bucket.stamp)


# Actual cost: the cost rule of operations.py (object 1, connection 2 + nodes x node cost, pageInfo 1, mutation 10;
# docs/platforms/shopify.md "What the client should send", UNCONFIRMED rule) applied to the nodes actually returned
# instead of ``first``. Shopify refunds the difference (SD-RATE); how it counts a real answer is UNCONFIRMED, this
# is the sandbox's model.
VARIANT_NODE = 1 + 1 + 1  # variant, inventoryItem, selectedOptions (operations._VARIANT_NODE)
LINE_NODE = 1 + 2 + 1 + 1  # line item, originalUnitPriceSet, variant, product (operations._LINE_NODE)
MONEY_BAGS = 3 * 2  # totalPriceSet, subtotalPriceSet, totalShippingPriceSet with their shopMoney


def order_node_cost(lines: int) -> int:
    """operations._ORDER_NODE with the order's real number of line items (at most ORDER_LINES_PAGE)."""
    return 1 + MONEY_BAGS + 1 + (2 + min(lines, ops.ORDER_LINES_PAGE) * LINE_NODE + 1)


def product_node_cost(variants: int) -> int:
    """A Products node: the product 1 + its variants connection 2 + variants x VARIANT_NODE."""
    return 1 + 2 + min(variants, ops.PRODUCT_VARIANTS_PAGE) * VARIANT_NODE


# ---------------------------------------------------------------------------------------------- variables


def variable_error(name: str, type_name: str, value: Any, explanation: str) -> GqlFailure:
    """A variable that does not coerce to its type: graphql-ruby's shape (``Variable $x of type T was provided
    invalid value``, ``extensions.value/problems``); Shopify's exact text and code are UNCONFIRMED."""
    return GqlFailure(
        f"Variable ${name} of type {type_name} was provided invalid value",
        "INVALID_VARIABLE",
        value=value,
        problems=[{"path": [], "explanation": explanation}],
    )


def string_var(variables: Json, name: str, *, required: bool) -> str | None:
    value = variables.get(name)
    type_name = "String!" if required else "String"
    if value is None:
        if required:
            raise variable_error(name, type_name, None, "Expected value to not be null")
        return None
    if not isinstance(value, str):
        raise variable_error(name, type_name, value, "Could not coerce value to String")
    return value


def id_var(variables: Json, name: str, kind: str) -> str:
    """The number of the ``ID!`` variable ``name``, a GID of ``kind``."""
    return gid_value(variables.get(name), name, kind)


def gid_value(value: Any, label: str, kind: str) -> str:
    """An ``ID!`` holding a GID of ``kind``: the number it carries. A malformed GID is a top-level error (message
    and code UNCONFIRMED)."""
    if value is None:
        raise variable_error(label, "ID!", None, "Expected value to not be null")
    if not isinstance(value, str):
        raise variable_error(label, "ID!", value, "Could not coerce value to ID")
    number = gid_of(value, kind)
    if number is None:
        raise GqlFailure(f"Invalid global id '{value}'", "INVALID_GLOBAL_ID")
    return number


def gid_of(value: Any, kind: str) -> str | None:
    """The number of ``gid://shopify/{kind}/{n}``, None for anything else."""
    prefix = f"gid://shopify/{kind}/"
    if isinstance(value, str) and value.startswith(prefix) and value[len(prefix) :].isdigit():
        return value[len(prefix) :]
    return None


def input_list(value: Any, name: str, type_name: str) -> list[Any]:
    """A list input: a list (GraphQL also coerces a single value; the sandbox requires a list), at most
    MAX_INPUT_ITEMS items (SD-LIMITS 250; error shape and code UNCONFIRMED)."""
    if not isinstance(value, list):
        raise variable_error(name, type_name, value, "Expected a list")
    if len(value) > ops.MAX_INPUT_ITEMS:
        raise GqlFailure(
            f"The input array size of {len(value)} is greater than the maximum allowed of {ops.MAX_INPUT_ITEMS}.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )
    return value


def money(value: Any, name: str) -> Decimal:
    """A ``Money`` input: a decimal string (SD-REF: "decimal string in the shop's currency"); anything else does
    not coerce (top-level error; text UNCONFIRMED)."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise variable_error(name, "Money", value, "Could not coerce value to Money: a decimal string is expected")


def int_value(value: Any, name: str, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise variable_error(name, "Int" if nullable else "Int!", value, "Could not coerce value to Int")
    return value


# ---------------------------------------------------------------------------------------------- search syntax


@dataclass(frozen=True)
class Term:
    field: str
    op: str  # ":" exact, or one of > >= < <=
    value: str


_TERM = re.compile(r"""(\w+):(>=|<=|>|<)?(?:'([^']*)'|"([^"]*)"|(\S+))""")


def parse_search(query: str | None, fields: frozenset[str]) -> list[Term]:
    """The part of Shopify's search syntax nfsync uses (``updated_at:>'ISO'``, ``>=``, ``<``, ``sku:X``,
    ``product_id:N``; SD-REF, contract query_filters), terms joined by spaces (AND). Anything else is refused:
    the full grammar is not emulated (sandbox rule; Shopify treats unknown text as a free-text search)."""
    terms: list[Term] = []
    rest = (query or "").strip()
    while rest:
        match = _TERM.match(rest)
        if match is None or match.group(1) not in fields:
            raise GqlFailure(f"Search syntax not emulated by the sandbox: {rest!r}", "SANDBOX_UNSUPPORTED_QUERY")
        value = next(v for v in match.group(3, 4, 5) if v is not None)
        terms.append(Term(match.group(1), match.group(2) or ":", value))
        rest = rest[match.end() :].lstrip()
    return terms


def parse_time(value: str) -> float:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GqlFailure(f"Invalid date in search query: {value!r}", "SANDBOX_UNSUPPORTED_QUERY") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a date without offset: the shop's timezone, UTC here (UNCONFIRMED)
    return moment.timestamp()


def compare(actual: float, op: str, bound: float) -> bool:
    return {
        ">": actual > bound,
        ">=": actual >= bound,
        "<": actual < bound,
        "<=": actual <= bound,
        ":": actual == bound,
    }[op]


def iso(moment: float | None) -> str | None:
    """ISO 8601 UTC with whole seconds and ``Z``, as the GraphQL ``DateTime`` scalar shows it."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------- cursors


def cursor(key: tuple[Any, ...]) -> str:
    """An opaque cursor (base64 JSON of the sort key of the last node, like the contract sample's
    ``eyJsYXN0X2lkIjoxfQ==``)."""
    return base64.b64encode(json.dumps({"last": list(key)}, separators=(",", ":")).encode()).decode()


def read_cursor(value: str | None) -> tuple[Any, ...] | None:
    if value is None:
        return None
    try:
        data = json.loads(base64.b64decode(value, validate=True))
        return tuple(data["last"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise GqlFailure(f"Invalid cursor for current pagination sort: {value!r}", "INVALID_CURSOR") from None


def page(rows: list[Any], key: Callable[[Any], tuple[Any, ...]], after: str | None, size: int) -> Json:
    """``{pageInfo, nodes}`` of the rows (sorted by ``key``) after the cursor; the 25,000-object depth cap
    (SD-LIMITS; error shape UNCONFIRMED)."""
    ordered = sorted(rows, key=key)
    start = 0
    last = read_cursor(after)
    if last is not None:
        start = next((i for i, row in enumerate(ordered) if key(row) > last), len(ordered))
    if start >= PAGINATION_MAX:
        raise GqlFailure("Pagination is limited to 25,000 objects; use a search filter instead", "PAGINATION_LIMIT")
    chunk = ordered[start : start + size]
    more = start + size < len(ordered)
    info = {"hasNextPage": more, "endCursor": cursor(key(chunk[-1])) if chunk else None}
    return {"pageInfo": info, "nodes": chunk}
