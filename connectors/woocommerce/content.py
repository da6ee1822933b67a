"""What a ``crm``-mode update sends: only the fields that change, computed from the product as the store has it.

WooCommerce applies each field of a PUT only when present, but every LIST it receives replaces the product's whole
list (github woocommerce/woocommerce, includes/rest-api/Controllers/Version3/class-wc-rest-products-controller.php
``prepare_object_for_database`` and ``set_product_images``; Version2 ``save_taxonomy_terms``). So:

- ``status`` is never sent on update: a draft, pending or private product stays so;
- ``categories``: the CRM's category is added to the product's list, never replacing it;
- ``images``: sent only when the CRM's images differ from those nfsync placed; an image nfsync uploaded before is
  sent by attachment ``id`` (never its ``src`` again, which core would download into a new attachment), and the
  merchant's own images stay after the CRM's. Which attachment came from which CRM URL is kept in the product's
  ``meta_data`` under ``IMAGE_SOURCES`` (core upserts meta by key and keeps the others);
- ``attributes``: the product's attributes are sent back as they are (global ``pa_*`` by id, custom ones by name,
  non-variation specs included), extended only by the options (or the attribute) the CRM's variants need;
- variations: those whose SKU the CRM knows are updated, missing ones created, none ever deleted; a variation's
  attribute goes by the global attribute's ``id`` or the custom attribute's stored name, because core matches it
  to the parent by id or sanitized name and silently skips a non-match (Version3 variations controller).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.connectors.woocommerce.mapping import money, wc_money

IMAGE_SOURCES = "_nfsync_image_sources"
"""Product meta: {"<CRM image URL>": <attachment id>} for the images nfsync uploaded."""
Json = dict[str, Any]


def sanitize(text: str) -> str:
    """WordPress ``sanitize_title`` as far as attribute names need it (accents removed, lower case, dashes).
    UNCONFIRMED approximation: core's remove_accents has its own table; NFKD agrees for Latin letters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", plain.lower()).strip("-")


# ---------------------------------------------------------------------------------------------- product


def product_changes(product: Mapping[str, Any], draft: ListingDraft, *, variable: bool) -> Json:
    """The PUT body of a read-modify-write: only what differs; empty when nothing does."""
    body: Json = {}
    for name, wanted in (("name", draft.name), ("description", draft.description)):
        if str(product.get(name) or "") != wanted:
            body[name] = wanted
    body.update(category_change(product, draft.category_id))
    body.update(image_change(product, draft.images))
    if variable:
        attributes = merged_attributes(product.get("attributes") or [], draft.variants)
        if attributes is not None:
            body["attributes"] = attributes
    else:
        body.update(stock_price_changes(product, draft.variants[0], sku=True))
    return body


def package_changes(product: Mapping[str, Any], wanted: Json) -> Json:
    """``weight`` and the ``dimensions`` the profile sets, where the product shows other values (strings in the
    store's units; a dimension the profile leaves out stays as the merchant set it)."""
    changes: Json = {}
    if "weight" in wanted and str(product.get("weight") or "") != wanted["weight"]:
        changes["weight"] = wanted["weight"]
    raw = product.get("dimensions")
    current: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    sizes = wanted.get("dimensions") or {}
    if any(str(current.get(k) or "") != v for k, v in sizes.items()):
        changes["dimensions"] = dict(sizes)
    return changes


def category_change(product: Mapping[str, Any], category_id: str | None) -> Json:
    if not category_id or not category_id.isdigit():
        return {}
    current = [int(c["id"]) for c in product.get("categories") or [] if isinstance(c, dict) and c.get("id")]
    if int(category_id) in current:
        return {}
    return {"categories": [{"id": c} for c in [*current, int(category_id)]]}


def stock_price_changes(current: Mapping[str, Any], wanted: VariantDraft, *, sku: bool) -> Json:
    body: Json = {}
    if sku and str(current.get("sku") or "") != wanted.sku:
        body["sku"] = wanted.sku
    if money(current.get("regular_price")) != wanted.price or current.get("regular_price") in (None, ""):
        body["regular_price"] = wc_money(wanted.price)
    if not current.get("manage_stock") or current.get("stock_quantity") != wanted.stock:
        body.update(manage_stock=True, stock_quantity=wanted.stock)
    return body


# ---------------------------------------------------------------------------------------------- images


def image_change(product: Mapping[str, Any], wanted: Sequence[str]) -> Json:
    """``images`` (and the source map in ``meta_data``) when the CRM's images are not the ones leading the product."""
    if not wanted:
        return {}
    images = [i for i in product.get("images") or [] if isinstance(i, dict) and i.get("id")]
    on_product = {int(i["id"]) for i in images}
    sources = {url: i for url, i in image_sources(product).items() if i in on_product}
    leading = [int(i["id"]) for i in images[: len(wanted)]]
    if all(url in sources for url in wanted) and leading == [sources[url] for url in wanted]:
        return {}
    ours = set(sources.values())
    crm = [{"id": sources[url]} if url in sources else {"src": url} for url in wanted]
    merchant = [{"id": int(i["id"])} for i in images if int(i["id"]) not in ours]
    return {"images": crm + merchant}


def image_sources(product: Mapping[str, Any]) -> dict[str, int]:
    entry = next(
        (m for m in product.get("meta_data") or [] if isinstance(m, dict) and m.get("key") == IMAGE_SOURCES), None
    )
    value = entry.get("value") if entry else None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return {str(k): int(v) for k, v in value.items() if str(v).isdigit()} if isinstance(value, dict) else {}


def sources_after(answer: Mapping[str, Any], sent: Json, wanted: Sequence[str]) -> Json:
    """After a PUT that sent images: the meta entry mapping each CRM URL to the attachment the store now has."""
    images = [int(i["id"]) for i in answer.get("images") or [] if isinstance(i, dict) and i.get("id")]
    if len(images) < len(wanted):
        return {}
    mapping = dict(zip(wanted, images, strict=False))
    if mapping == image_sources(answer) or "images" not in sent:
        return {}
    return {"meta_data": [{"key": IMAGE_SOURCES, "value": json.dumps(mapping, sort_keys=True)}]}


# ---------------------------------------------------------------------------------------------- attributes


def merged_attributes(current: Sequence[Any], variants: Sequence[VariantDraft]) -> list[Json] | None:
    """The product's attributes as they are, plus what the CRM's variants need; None when nothing is missing."""
    attributes = [_attribute_body(a) for a in current if isinstance(a, dict)]
    changed = False
    for variant in variants:
        for name, option in variant.options.items():
            changed = _need(attributes, name, option) or changed
    return attributes if changed else None


def _attribute_body(attribute: Mapping[str, Any]) -> Json:
    body: Json = {
        "name": str(attribute.get("name") or ""),
        "position": int(attribute.get("position") or 0),
        "visible": bool(attribute.get("visible")),
        "variation": bool(attribute.get("variation")),
        "options": [str(o) for o in attribute.get("options") or []],
    }
    if attribute.get("id"):
        body["id"] = int(attribute["id"])
    return body


def _need(attributes: list[Json], name: str, option: str) -> bool:
    """Make ``name`` a variation attribute holding ``option``; True when the list changed."""
    index = attribute_index(attributes, name)
    if index is None:
        attributes.append(
            {"name": name, "position": len(attributes), "visible": True, "variation": True, "options": [option]}
        )
        return True
    found = attributes[index]
    changed = not found["variation"]
    found["variation"] = True
    if not any(o.lower() == option.lower() for o in found["options"]):
        found["options"].append(option)
        changed = True
    return changed


def attribute_index(attributes: Sequence[Mapping[str, Any]], name: str) -> int | None:
    """Which product attribute a CRM option name means: the same sanitized name (a global one also by its ``pa_``
    slug)."""
    key = sanitize(name)
    for index, attribute in enumerate(attributes):
        names = {sanitize(str(attribute.get("name") or "")), sanitize(str(attribute.get("slug") or ""))}
        if key in names or (attribute.get("id") and "pa-" + key in names):
            return index
    return None


def find_attribute(attributes: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    index = attribute_index(attributes, name)
    return attributes[index] if index is not None else None


def has_option(attributes: Sequence[Mapping[str, Any]], name: str, option: str) -> bool:
    found = find_attribute(attributes, name)
    options = found.get("options") or [] if found is not None else []
    return found is not None and bool(found.get("variation")) and any(str(o).lower() == option.lower() for o in options)


# ---------------------------------------------------------------------------------------------- variations


def variation_attributes(parent: Sequence[Mapping[str, Any]], options: Mapping[str, str]) -> list[Json]:
    """A variation's attributes as core matches them: a global attribute by id, a custom one by its stored name."""
    body = []
    for name, option in options.items():
        found = find_attribute(parent, name)
        if found is not None and found.get("id"):
            body.append({"id": int(found["id"]), "option": option})
        else:
            body.append({"name": str(found.get("name")) if found is not None else name, "option": option})
    return body


def variation_changes(current: Mapping[str, Any], wanted: VariantDraft, parent: Sequence[Mapping[str, Any]]) -> Json:
    body = stock_price_changes(current, wanted, sku=False)
    if not same_options(current, wanted.options):
        body["attributes"] = variation_attributes(parent, wanted.options)
    return body


def new_variation(wanted: VariantDraft, parent: Sequence[Mapping[str, Any]]) -> Json:
    return {
        "sku": wanted.sku,
        **stock_price_changes({}, wanted, sku=False),
        "attributes": variation_attributes(parent, wanted.options),
    }


def same_options(variation: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    kept = {
        sanitize(str(a.get("name") or "")): str(a.get("option") or "").lower()
        for a in variation.get("attributes") or []
        if isinstance(a, dict)
    }
    return kept == {sanitize(name): option.lower() for name, option in wanted.items()}


def holders(variations: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Variations by SKU (SKU-less ones are never matched: the CRM cannot name them)."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for variation in variations:
        if variation.get("sku"):
            found.setdefault(str(variation["sku"]), []).append(variation)
    return found
