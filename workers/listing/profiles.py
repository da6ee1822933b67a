"""Listing profiles: what a platform needs to create a listing and the CRM catalog does not hold.

A profile is written once per CRM product and integration (``PUT /v1/listing-profiles/...``, a bulk import, or the
product's ``metadata.marketplace.<platform>``), optionally overridden per shop where a platform ties a field to the
shop (Shopee logistics channels are the shop's own). The integration's defaults (a product id of ``None``) hold
what most products share: a brand such as the platforms' "No brand", one logistics set, a package size.

What a push uses is the *effective* profile: the layers merged from the least to the most specific (integration
defaults, the shop's defaults, the product's metadata, the product's profile, the product's override for the
shop); a field set in a later layer replaces the earlier one, attributes and variants merge by their id.

Only the shape and the universal bounds are checked here; what a category requires of a profile is the
platform's knowledge (the requirements step), checked before any call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import to_jsonable_python

from nfsync.connectors.base.listing import AttributeValue, Brand, LogisticsChannel, Package, Text
from nfsync.connectors.base.models import ListingDraft
from nfsync.connectors.base.outbound import OutboundPolicy, OutboundRefused, check_url
from nfsync.workers.engine.filters import Id

MAX_IMAGES = 9
"""Images per listing or variant: the largest count any supported platform takes for a listing's main images
(TikTok Shop ``main_images`` and Shopee ``image_id_list`` take 9; Lazada takes 8 per SKU - checked per platform)."""
MAX_URL_LENGTH = 2048
MAX_ATTRIBUTES = 200
MAX_VARIANTS = 300  # TikTok Shop takes 300 SKUs in some regions, the most of any supported platform
MAX_SALE_PROPERTIES = 3
MAX_LOGISTICS = 50


def _private_name(host: str) -> bool:
    """A name only a private network resolves (any name's addresses are checked again when the image is fetched,
    connectors/base/outbound.py)."""
    return host == "localhost" or host.endswith((".localhost", ".local", ".internal"))


def _image_url(value: str) -> str:
    """The shape of an image URL: http(s), a host, no user name or password. Where it may point is the operator's
    outbound policy, checked where a tenant writes a profile (``image_refusals``) and again at every fetch."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http"):
        raise ValueError("must be an https URL")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValueError("must name a host and carry no user name or password")
    return value


def image_refusals(profile: ListingProfile, policy: OutboundPolicy) -> list[tuple[str, str]]:
    """(field path, reason) of every image URL the operator's outbound policy refuses: http, an address that is
    not public, a private name - unless the operator allows the host (NFSYNC_OUTBOUND_ALLOWED_HOSTS)."""
    out = []
    for path, url in _image_urls(profile):
        host = (urlsplit(url).hostname or "").lower()
        try:
            check_url(url, None, policy, "the image URL")
        except OutboundRefused as exc:
            out.append((path, str(exc)))
            continue
        if _private_name(host) and not policy.allows_host(host):
            out.append((path, f"the image URL: {host} is a private name"))
    return out


def _image_urls(profile: ListingProfile) -> list[tuple[str, str]]:
    urls = [(f"images.{i}", url) for i, url in enumerate(profile.images)]
    for variant, content in profile.variants.items():
        urls += [(f"variants.{variant}.images.{i}", url) for i, url in enumerate(content.images)]
    return urls


ImageUrl = Annotated[str, Field(min_length=9, max_length=MAX_URL_LENGTH), AfterValidator(_image_url)]
Images = Annotated[list[ImageUrl], Field(max_length=MAX_IMAGES)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariantContent(_Part):
    """What one CRM variant adds to the listing: its images and its sale-property values (``{"Color": "Red"}``;
    when empty, the variant's CRM option values are used through ``option_names``)."""

    images: Images = Field(default_factory=list)
    sale_properties: Annotated[dict[Text, Text], Field(max_length=MAX_SALE_PROPERTIES)] = Field(default_factory=dict)


def _unique_ids(items: Iterable[AttributeValue | LogisticsChannel], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"{what} {item.id!r} is given twice")
        seen.add(item.id)


class ListingProfile(_Part):
    """One layer of a product's listing content for one platform (every field optional: layers complete each other)."""

    category_id: Id | None = None
    brand: Brand | None = None
    attributes: Annotated[list[AttributeValue], Field(max_length=MAX_ATTRIBUTES)] = Field(default_factory=list)
    package: Package | None = None
    logistics: Annotated[list[LogisticsChannel], Field(max_length=MAX_LOGISTICS)] = Field(default_factory=list)
    images: Images = Field(default_factory=list)
    option_names: Annotated[dict[Text, Text], Field(max_length=MAX_SALE_PROPERTIES)] = Field(default_factory=dict)
    variants: Annotated[dict[Id, VariantContent], Field(max_length=MAX_VARIANTS)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_repeats(self) -> ListingProfile:
        _unique_ids(self.attributes, "attribute")
        _unique_ids(self.logistics, "logistics channel")
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON stored in ``listing_profiles.profile``: only what is set."""
        return self.model_dump(mode="json", exclude_defaults=True)


def merged(layers: Iterable[ListingProfile | None]) -> ListingProfile:
    """The effective profile of layers given from the least to the most specific."""
    out = ListingProfile()
    for layer in layers:
        if layer is not None:
            out = _over(out, layer)
    return out


def _over(base: ListingProfile, top: ListingProfile) -> ListingProfile:
    package = _package(base.package, top.package)
    attributes = {a.id: a for a in base.attributes} | {a.id: a for a in top.attributes}
    return ListingProfile(
        category_id=top.category_id or base.category_id,
        brand=top.brand or base.brand,
        attributes=list(attributes.values()),
        package=package,
        logistics=top.logistics or base.logistics,
        images=top.images or base.images,
        option_names=base.option_names | top.option_names,
        variants=_variants(base.variants, top.variants),
    )


def _package(base: Package | None, top: Package | None) -> Package | None:
    if base is None or top is None:
        return top or base
    return base.model_copy(update=top.model_dump(exclude_none=True))


def _variants(base: dict[str, VariantContent], top: dict[str, VariantContent]) -> dict[str, VariantContent]:
    out = dict(base)
    for variant_id, content in top.items():
        below = out.get(variant_id)
        out[variant_id] = (
            content
            if below is None
            else VariantContent(
                images=content.images or below.images,
                sale_properties=below.sale_properties | content.sale_properties,
            )
        )
    return out


def listing_text(content: ListingDraft | ListingProfile) -> str:
    """The profile's part of the content (brand, attributes, package, logistics, images); empty without one. The
    same for a draft and the profile it was built from, so a plan computes it once per distinct profile."""
    parts = {
        "brand": content.brand,
        "attributes": content.attributes or None,
        "package": content.package,
        "logistics": content.logistics or None,
        "images": content.images or None,
    }
    given = {k: v for k, v in parts.items() if v is not None}
    return json.dumps(to_jsonable_python(given), sort_keys=True) if given else ""
