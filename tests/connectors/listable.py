"""A listing draft as the strict sandboxes take it: connector tests that create listings directly (without
product_sync and its listing profiles) give their drafts what every platform requires of a new listing."""

from __future__ import annotations

from typing import Any

from nfsync.connectors.base.models import ListingDraft
from nfsync.connectors.base.sandbox import LAB_PNG
from nfsync.workers.lab.sandbox_shops import LISTING_DEFAULTS


async def listable(client: Any, draft: ListingDraft) -> ListingDraft:
    """The lab's listing defaults (brand, package, logistics) where the draft sets none, and one image uploaded
    through the platform's own media API (WooCommerce takes an image URL: the draft's are kept)."""
    defaults = LISTING_DEFAULTS
    update: dict[str, Any] = {
        "brand": draft.brand or defaults.brand,
        "package": draft.package or defaults.package,
        "logistics": draft.logistics or list(defaults.logistics),
    }
    if client.uploads_images and not draft.images:
        update["images"] = [await client.upload_image(LAB_PNG, "image/png")]
    return draft.model_copy(update=update)
