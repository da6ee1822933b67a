"""TikTok Shop Partner API (version 202309 and later) connector."""

from __future__ import annotations

from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.tiktok import webhooks
from nfsync.connectors.tiktok.client import Client

# TikTok Shop Partner API hosts (TTS-DOC "common parameters" and "authorization overview 202407":
# open-api.tiktokglobalshop.com for the API, auth.tiktok-shops.com for tokens). connectors/base/outbound.py
API_HOSTS = frozenset({"open-api.tiktokglobalshop.com", "auth.tiktok-shops.com"})

# Create Product (POST /product/202309/products): title 25-255 characters outside US/EU/JP/BR/MX (the SEA markets),
# description required (at most 10,000 characters), 1-9 main images, package_weight required (KILOGRAM in SEA);
# package_dimensions optional only in ID/TH/VN per the reference: required here (the stricter reading); at most 100
# SKUs in SEA (300 elsewhere; UNCONFIRMED) and 3 sales attributes; brand optional. Sources:
# docs/platforms/listings/tiktok.md.
LISTING_RULES = ListingRules(
    package=("weight_kg", "length_cm", "width_cm", "height_cm"),
    description=True,
    images=(1, 9),
    title=(25, 255),
    description_max=10_000,
    variants_max=100,
    sale_properties_max=3,
)

PLATFORM = PlatformSpec(
    name="tiktok",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="app_secret",
    api_hosts=API_HOSTS,
    listing=LISTING_RULES,
)

__all__ = ["PLATFORM", "Client"]
