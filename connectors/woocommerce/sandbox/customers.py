"""The sandbox's ``GET /customers`` (WC-DOC ``_customers.md`` "List all customers"): registered customers of a store,
with the arguments the reference lists - ``page``, ``per_page`` (WordPress's 1..100), ``offset``, ``include``,
``exclude``, ``orderby`` (``id``, ``include``, ``name``, ``registered_date``; default ``name``), ``order`` (default
``asc``), ``email``, ``role`` (default ``customer``) - refused with 400 ``rest_invalid_param`` when out of range, as
WordPress refuses them. The reference lists no date filter for customers: ``modified_after`` and the like are not
arguments of this collection and are ignored, as WordPress ignores unknown arguments (UNCONFIRMED: WooCommerce core
may accept more). Not emulated: ``search``, ``context=edit``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nfsync.connectors.woocommerce.errors import INVALID_PARAMETER
from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure
from nfsync.connectors.woocommerce.sandbox.query import MAX_PER_PAGE, _Reader

ORDERBY = ("id", "include", "name", "registered_date")
ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer", "shop_manager")


@dataclass
class SbCustomer:
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str = ""
    address: str = ""
    role: str = "customer"
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)

    def json(self) -> dict[str, Any]:
        created, modified = _iso(self.created), _iso(self.modified)
        billing = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "address_1": self.address,
            "country": "VN",
            "email": self.email,
            "phone": self.phone,
        }
        return {
            "id": self.id,
            "date_created": created,
            "date_created_gmt": created,
            "date_modified": modified,
            "date_modified_gmt": modified,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": self.role,
            "username": self.email.partition("@")[0],
            "billing": billing,
            "shipping": {k: v for k, v in billing.items() if k not in ("email", "phone")},
            "is_paying_customer": True,
            "meta_data": [],
        }


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))  # the sandbox store is UTC


def list_customers(customers: list[SbCustomer], params: Mapping[str, str]) -> tuple[list[dict[str, Any]], int, int]:
    """(the page, total, total pages), or ``WcFailure`` 400 naming every invalid argument."""
    reader = _Reader(params)
    page = reader.integer("page", 1, 1) or 1
    per_page = reader.integer("per_page", 10, 1, MAX_PER_PAGE) or 10
    offset = reader.integer("offset", None, 0)
    include, exclude = reader.ids("include"), reader.ids("exclude")
    orderby = reader.choice("orderby", "name", ORDERBY)
    order = reader.choice("order", "asc", ("asc", "desc"))
    role = reader.choice("role", "customer", ROLES)
    if reader.invalid:
        names = ", ".join(reader.invalid)
        raise WcFailure(400, INVALID_PARAMETER, f"Invalid parameter(s): {names}", params=reader.invalid)
    email = params.get("email", "").strip().lower()
    found = [
        c
        for c in customers
        if (not include or c.id in include)
        and c.id not in exclude
        and role in ("all", c.role)
        and (not email or c.email.lower() == email)
    ]
    keys = {
        "id": lambda c: (c.id,),
        "name": lambda c: (f"{c.first_name} {c.last_name}".lower(), c.id),
        "registered_date": lambda c: (c.created, c.id),
        "include": lambda c: (include.index(c.id) if c.id in include else len(include), c.id),
    }
    found.sort(key=keys[orderby], reverse=order == "desc" and orderby != "include")
    start = offset if offset is not None else (page - 1) * per_page
    pages = -(-len(found) // per_page)
    return [c.json() for c in found[start : start + per_page]], len(found), pages
