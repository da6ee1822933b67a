"""``/v1/customers`` (issue #18): the CRM's customers made from marketplace buyers, for the CRM - personal data
masked, tenant-scoped by the merchants the organization owns.

- ``GET /v1/customers``: filtered by platform, merchant, shop (customers with an order there) and ``updated_after``,
  keyset-paged by id (``after``, ``next_after``).
- ``GET /v1/customers/{customer_id}``: one customer.
- ``DELETE /v1/customers/{customer_id}``: erase - the customer and its orders' buyer data anonymised in one
  transaction, and a ``customer_erasures`` record of who did it, when and how many orders it touched.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.errors import NotFound
from nfsync.connectors.base.models import PERSONAL_FIELDS
from nfsync.workers import crm_customers
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE, ApiState
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import MAX_ID_LENGTH
from nfsync.workers.errors import SecretError
from nfsync.workers.logs import get_logger
from nfsync.workers.personal import mask

api = Api()
log = get_logger(__name__)
WRITE_SCOPE = "integrations:write"
TAGS = ("customers",)
Platform = Literal["shopee", "lazada", "tiktok", "woocommerce", "shopify"]


class CustomerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform | None = None
    merchant_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    shop_id: uuid.UUID | None = None
    updated_after: datetime | None = None
    after: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    limit: int = Field(100, ge=1, le=500)


class CustomerOut(BaseModel):
    id: str
    merchant_id: str
    platform: str
    platform_buyer_id: str
    name: str | None = Field(description="Masked")
    email: str | None = Field(description="Masked")
    phone: str | None = Field(description="Masked")
    address: str | None = Field(description="Masked")
    masked_by_platform: list[str] = Field(description="Fields the platform itself masked or anonymised")
    orders: int
    last_order_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_after: str | None


def _state(call: Call) -> ApiState:
    return call.request.app[API_STATE]


def _shown(keyring: Keyring | None, row: asyncpg.Record, name: str) -> str | None:
    """The masked value; "***" when it cannot be read (no keyring, or a key that is not in it)."""
    token = row[name]
    if token is None:
        return None
    if keyring is None:
        return "***"
    try:
        plain = keyring.decrypt(token, SecretField("Customer", name, row["merchant_id"], row["id"])).reveal()
    except SecretError:
        log.warning("customer.unreadable", customer_id=row["id"], field=name)
        return "***"
    return mask(name, plain)


def _out(keyring: Keyring | None, row: asyncpg.Record) -> CustomerOut:
    shown = {name: _shown(keyring, row, name) for name in PERSONAL_FIELDS}
    return CustomerOut(
        id=row["id"],
        merchant_id=row["merchant_id"],
        platform=row["platform"],
        platform_buyer_id=row["platform_buyer_id"],
        masked_by_platform=list(row["masked"]),
        orders=row["orders"],
        last_order_at=row["last_order_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        **shown,
    )


@api.route(
    "GET", "/v1/customers", summary="CRM customers made from marketplace buyers (personal data masked)", scope=None,
    query=CustomerQuery, response=CustomerPage, tags=TAGS,
)  # fmt: skip
async def list_customers(call: Call) -> CustomerPage:
    q = call.query_as(CustomerQuery)
    state = _state(call)
    rows = await state.system_pool.fetch(
        QUERIES["crm_customer_list"],
        call.tenant,
        q.platform,
        q.merchant_id,
        q.shop_id,
        q.updated_after,
        q.after,
        q.limit,
    )
    items = [_out(state.keyring, r) for r in rows]
    return CustomerPage(items=items, next_after=items[-1].id if len(items) == q.limit else None)


def _customer_id(call: Call) -> str:
    value = call.path("customer_id")
    if not 0 < len(value) <= MAX_ID_LENGTH:
        raise NotFound(f"no customer {value[:40]!r}")
    return value


@api.route(
    "GET", "/v1/customers/{customer_id}", summary="One customer (personal data masked)", scope=None,
    response=CustomerOut, tags=TAGS,
)  # fmt: skip
async def get_customer(call: Call) -> CustomerOut:
    customer_id = _customer_id(call)
    state = _state(call)
    row = await state.system_pool.fetchrow(QUERIES["crm_customer_get"], customer_id, call.tenant)
    if row is None:
        raise NotFound(f"customer {customer_id} not found")
    return _out(state.keyring, row)


@api.route(
    "DELETE", "/v1/customers/{customer_id}",
    summary="Erase a customer: it and its orders' buyer data are anonymised in one transaction, and recorded",
    scope=WRITE_SCOPE, status=204, tags=TAGS,
)  # fmt: skip
async def erase_customer(call: Call) -> web.Response:
    customer_id = _customer_id(call)
    assert call.principal is not None
    async with _state(call).system_pool.acquire() as conn:
        erasure = await crm_customers.erase(
            conn,
            customer_id,
            organization_id=call.tenant,
            requested_by=f"token:{call.principal.token_id}",
            reason="api",
        )
    if erasure is None:
        raise NotFound(f"customer {customer_id} not found")
    return web.Response(status=204)
