"""Collection arguments of the WooCommerce sandbox, checked the way WordPress checks them, and the paging answer.

WordPress validates every argument against the collection schema before the controller runs and refuses the
request with HTTP 400 ``rest_invalid_param`` naming each bad argument (``per_page`` 1..100, ``page`` >= 1, dates
in RFC 3339 form). Dates compare at whole seconds and both bounds are exclusive (``WP_Date_Query`` without
``inclusive``; WC-CORE ``WC_REST_CRUD_Controller::prepare_objects_query``). Pages are announced in
``X-WP-Total``, ``X-WP-TotalPages`` and a ``Link`` header (``WC_REST_CRUD_Controller::get_items``); a page past
the end is an empty list, not an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from yarl import URL

from nfsync.connectors.woocommerce.errors import INVALID_PARAMETER
from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure

MAX_PER_PAGE = 100
PRODUCT_ORDERBY = ("date", "id", "include", "title", "slug", "price", "popularity", "rating", "menu_order", "modified")
ORDER_ORDERBY = ("date", "id", "include", "title", "slug", "modified")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$")
_WINDOWS = {"after": "created", "before": "created", "modified_after": "modified", "modified_before": "modified"}
_AUTH_PARAMS = frozenset(
    {
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_timestamp",
        "consumer_key",
        "consumer_secret",
    }
)


@dataclass(frozen=True)
class Row:
    """One object of a collection, with what filters and sorting need; ``payload`` is rendered afterwards."""

    id: int
    created: float
    modified: float
    title: str
    status: str
    payload: Any


@dataclass(frozen=True)
class Query:
    page: int
    per_page: int
    offset: int | None
    include: tuple[int, ...]
    orderby: str
    order: str
    bounds: tuple[tuple[str, str, int], ...]  # (created|modified, after|before, whole seconds)
    status: tuple[str, ...]


class _Reader:
    """Reads arguments, collecting WordPress's message for each invalid one."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.invalid: dict[str, str] = {}

    def integer(self, name: str, default: int | None, low: int, high: int | None = None) -> int | None:
        raw = self.params.get(name)
        if raw is None:
            return default
        if not raw.lstrip("-").isdigit():
            self.invalid[name] = f"{name} is not of type integer."
            return default
        value = int(raw)
        if value < low or (high is not None and value > high):
            self.invalid[name] = (
                f"{name} must be between {low} (inclusive) and {high} (inclusive)"
                if high
                else f"{name} must be greater than or equal to {low}"
            )
        return value

    def ids(self, name: str) -> tuple[int, ...]:
        parts = [part.strip() for part in self.params.get(name, "").split(",") if part.strip()]
        bad = next((i for i, part in enumerate(parts) if not part.isdigit()), None)
        if bad is not None:
            self.invalid[name] = f"{name}[{bad}] is not of type integer."
            return ()
        return tuple(int(part) for part in parts)

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        value = self.params.get(name, default)
        if value not in choices:
            self.invalid[name] = f"{name} is not one of {', '.join(choices[:-1])} and {choices[-1]}."
            return default
        return value

    def bounds(self) -> tuple[tuple[str, str, int], ...]:
        found = []
        for name, column in _WINDOWS.items():
            raw = self.params.get(name)
            if raw is None:
                continue
            moment = _date(raw)
            if moment is None:
                self.invalid[name] = "Invalid date."
                continue
            found.append((column, "after" if name.endswith("after") else "before", moment))
        if self.params.get("dates_are_gmt", "true").lower() not in ("true", "false", "1", "0"):
            self.invalid["dates_are_gmt"] = "dates_are_gmt is not of type boolean."
        return tuple(found)


def parse_query(params: Mapping[str, str], orderby: Sequence[str]) -> Query:
    """The collection arguments, or ``WcFailure`` 400 ``rest_invalid_param`` listing every invalid one."""
    reader = _Reader(params)
    query = Query(
        page=reader.integer("page", 1, 1) or 1,
        per_page=reader.integer("per_page", 10, 1, MAX_PER_PAGE) or 10,
        offset=reader.integer("offset", None, 0),
        include=reader.ids("include"),
        orderby=reader.choice("orderby", "date", orderby),
        order=reader.choice("order", "desc", ("asc", "desc")),
        bounds=reader.bounds(),
        status=tuple(s for s in params.get("status", "any").split(",") if s and s != "any"),
    )
    if reader.invalid:
        names = ", ".join(reader.invalid)
        raise WcFailure(400, INVALID_PARAMETER, f"Invalid parameter(s): {names}", params=reader.invalid)
    return query


def _date(raw: str) -> int | None:
    """An RFC 3339 date as Unix seconds; without an offset it is the store's time, and the sandbox store is UTC."""
    if not _DATE.match(raw):
        return None
    try:
        moment = datetime.fromisoformat(raw.upper().replace(" ", "T"))
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


# ---------------------------------------------------------------------------------------------- selecting


def select(rows: Sequence[Row], query: Query) -> tuple[list[Row], int, int]:
    """(the requested page, total, total pages); ``offset`` wins over ``page`` (``WP_Query``)."""
    matched = sorted((row for row in rows if _matches(row, query)), key=_sort_key(query))
    if query.order == "desc" and query.orderby != "include":
        matched.reverse()
    start = query.offset if query.offset is not None else (query.page - 1) * query.per_page
    return matched[start : start + query.per_page], len(matched), math.ceil(len(matched) / query.per_page)


def _matches(row: Row, query: Query) -> bool:
    if query.include and row.id not in query.include:
        return False
    if query.status and row.status not in query.status:
        return False
    for column, side, moment in query.bounds:
        value = int(row.created if column == "created" else row.modified)
        if (side == "after" and value <= moment) or (side == "before" and value >= moment):
            return False
    return True


def _sort_key(query: Query) -> Callable[[Row], tuple[Any, ...]]:
    if query.orderby == "date":
        return lambda row: (int(row.created), row.id)
    if query.orderby == "modified":
        return lambda row: (int(row.modified), row.id)
    if query.orderby in ("title", "slug"):
        return lambda row: (row.title.lower(), row.id)
    if query.orderby == "include":
        position = {item_id: i for i, item_id in enumerate(query.include)}
        return lambda row: (position.get(row.id, len(position)), row.id)
    return lambda row: (row.id,)  # id, and the orders the sandbox does not model (price, popularity, ...)


def page_headers(url: URL, query: Query, total: int, pages: int) -> dict[str, str]:
    """``X-WP-Total``, ``X-WP-TotalPages`` and ``Link`` rel prev/next (authentication parameters left out)."""
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    base = url.with_query([(k, v) for k, v in url.query.items() if k not in _AUTH_PARAMS])
    links = []
    if query.page > 1:
        links.append(f'<{base.update_query(page=min(query.page - 1, max(pages, 1)))}>; rel="prev"')
    if pages > query.page:
        links.append(f'<{base.update_query(page=query.page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers
