"""Shopee Open Platform v2 connector."""

from __future__ import annotations

from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.shopee import webhooks
from nfsync.connectors.shopee.client import Client
from nfsync.connectors.shopee.mapping import MAX_MODELS, MAX_TIERS

# Shopee Open Platform hosts (SHP-DOC developer-guide.20 "Authorization and Authentication" and the API call
# guide: partner.shopeemobile.com live (SG), openplatform.shopee.cn (CN), openplatform.shopee.com.br (BR/US); sandbox
# openplatform.sandbox.test-stable.shopee.sg). An api_base_url must be one of these (connectors/base/outbound.py).
API_HOSTS = frozenset(
    {
        "partner.shopeemobile.com",
        "openplatform.shopee.cn",
        "openplatform.shopee.com.br",
        "openplatform.sandbox.test-stable.shopee.sg",
    }
)

# add_item (POST /api/v2/product/add_item): item_name, description, weight (kg), image.image_id_list and
# logistic_info are required; a brand when get_brand_list says is_mandatory (brand_id 0 = No brand: required here,
# the stricter reading); at most 2 variation tiers and 20 models (mapping.py: "at most 50" in the text, "under 20"
# in error_model_count_over_limit - the stricter reading); images: max 9 UNCONFIRMED (upload_image takes
# "<9 per call"; the real bounds are get_item_limit.item_image_count_limit per category). Title bounds are per
# category (get_item_limit); 255 is the input bound. Sources: docs/platforms/listings/shopee.md.
LISTING_RULES = ListingRules(
    brand=True,
    package=("weight_kg",),
    logistics=True,
    description=True,
    images=(1, 9),
    variants_max=MAX_MODELS,
    sale_properties_max=MAX_TIERS,
)

PLATFORM = PlatformSpec(
    name="shopee",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="partner_key",
    api_hosts=API_HOSTS,
    listing=LISTING_RULES,
)

__all__ = ["PLATFORM", "Client"]
