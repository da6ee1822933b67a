"""Lazada Open Platform connector: ``PLATFORM`` is what the engine, the service and the tests load."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.lazada import webhooks
from nfsync.connectors.lazada.client import API_BASE_URLS, AUTH_BASE_URL, Client

__all__ = ["PLATFORM", "Client"]


# Lazada Open Platform hosts (github lazykern/ecommerce-api-docs, data/processed/lazada/guides/developers-guide/
# call-api-with-http-requests/api-endpoint-urls.md: one API host per venture; tokens on auth.lazada.com/rest), the
# client's own table. connectors/base/outbound.py
API_HOSTS = frozenset(urlsplit(url).hostname or "" for url in (*API_BASE_URLS.values(), AUTH_BASE_URL))

# CreateProduct (POST /product/create): brand_id, per SKU package_weight (kg) and package_length/width/height (cm),
# at least one Lazada-hosted image and at most 8, name at most 255 characters, description at most 25,000; at most
# 2 variations; package at most 40 kg and length + width + height at most 300 cm. SKUs per product: UNCONFIRMED
# (more than 50 per request time out): 50. Sources: docs/platforms/listings/lazada.md.
LISTING_RULES = ListingRules(
    brand=True,
    package=("weight_kg", "length_cm", "width_cm", "height_cm"),
    images=(1, 8),
    description_max=25_000,
    variants_max=50,
    sale_properties_max=2,
    max_weight_kg=Decimal(40),
    max_girth_cm=Decimal(300),
)

PLATFORM = PlatformSpec(
    name="lazada",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="app_secret",
    api_hosts=API_HOSTS,
    listing=LISTING_RULES,
)
