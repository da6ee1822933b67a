"""Lazada's ventures in the sandbox: one API host per venture, served on one port under ``/<venture>/rest``, and
cross-border ('cb') accounts whose one token serves a seller in each of several ventures.

Sources (github lazykern/ecommerce-api-docs): data/processed/lazada/guides/developers-guide/call-api-with-http-
requests/api-endpoint-urls.md (one production host per venture), data/processed/lazada/guides/quick-start-guide/
seller-authorization-introduction.md (the token answer: ``country`` is the venture or ``cb``; ``country_user_info``
one entry per venture of the account), data/raw/lazada/apis/system-api/generateaccesstoken.json and
refreshaccesstoken.json (samples: expiries as strings, the entry's country upper case in the first, lower case in
the second, ``country_user_info_list`` in the refresh answer).

UNCONFIRMED: no source says what Lazada answers when a seller's token is used on another venture's host. The
sandbox takes the stricter plausible reading: the token is unknown there (``IllegalAccessToken``), so a client
that calls the wrong host refreshes once and then needs re-authorization. ``/rest`` without a venture is the
sandbox's own host for tests and the auth calls (like auth.lazada.com): it serves every seller.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nfsync.connectors.base.sandbox import SbShop, SbToken

VENTURES = ("sg", "my", "th", "vn", "ph", "id")


@dataclass
class Accounts:
    """Cross-border accounts: seller id -> the seller ids of its account (one per venture)."""

    groups: dict[str, list[str]] = field(default_factory=dict)

    def join(self, shops: Sequence[SbShop]) -> None:
        """One account for these sellers: they share every token from now on."""
        ids = [shop.shop_id for shop in shops]
        for shop in shops:
            self.groups[shop.shop_id] = ids
        for shop in shops:
            for other in shops:
                other.access.update(shop.access)
                other.refresh.update(shop.refresh)

    def members(self, shops: Mapping[str, SbShop], shop: SbShop) -> list[SbShop]:
        return [shops[i] for i in self.groups.get(shop.shop_id, [shop.shop_id]) if i in shops]

    def share(self, shops: Mapping[str, SbShop], shop: SbShop, access: SbToken, refresh: SbToken) -> None:
        for member in self.members(shops, shop):
            member.access[access.value] = access
            member.refresh[refresh.value] = refresh


def seller_on(shops: Sequence[SbShop], token: str | None, venture: str | None) -> SbShop | None:
    """The seller an access token acts for on this host: on a venture's host its seller of that venture (none: the
    token is unknown there), on the venture-less host the first."""
    holders = [shop for shop in shops if token and token in shop.access]
    if venture is None:
        return holders[0] if holders else None
    return next((shop for shop in holders if shop.region.lower() == venture), None)


def token_body(
    members: Sequence[SbShop], access: str, refresh: str, lifetimes: tuple[float, float], *, refreshed: bool
) -> dict[str, Any]:
    """A GenerateAccessToken (``refreshed`` False) or RefreshAccessToken answer for an account's sellers."""
    ttl, refresh_expiry = lifetimes
    users = [_user(shop, upper=not refreshed) for shop in members]
    country = "cb" if len(members) > 1 else members[0].region.lower()
    return {
        "code": "0",
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": str(int(ttl)),
        "refresh_expires_in": str(max(0, int(refresh_expiry - time.time()))),
        "country": country,
        "account": f"seller-{members[0].shop_id}@sandbox.invalid",
        "account_platform": "seller_center",
        "country_user_info_list" if refreshed else "country_user_info": users,
    }


def _user(shop: SbShop, *, upper: bool) -> dict[str, str]:
    region = shop.region.lower()
    return {
        "country": region.upper() if upper else region,
        "seller_id": shop.shop_id,
        "user_id": shop.shop_id,
        "short_code": f"{region.upper()}{shop.shop_id}",
    }
