"""The parts of a WooCommerce product a sync must never damage: categories, images, attributes and meta data,
emulated with core's write semantics so that a careless client is caught.

Sources (WC-CORE = github woocommerce/woocommerce, plugins/woocommerce/includes/rest-api/Controllers):

- ``Version3/class-wc-rest-products-controller.php`` ``prepare_object_for_database``: every field applies only
  when present; ``attributes`` REPLACES the product's whole list (an entry with ``id`` is a global ``pa_*``
  attribute, dropped when its options are empty; an entry with only ``name`` is a custom one);
  ``set_product_images``: ``images`` REPLACES featured image and gallery, an entry with ``id`` reuses that
  attachment (``#<id> is an invalid image ID.`` when it is none), an entry with only ``src`` is downloaded into a
  NEW attachment on every call (``woocommerce_product_image_upload_error`` fails the whole request), ``[]`` removes
  every image; ``meta_data`` entries are upserted by id or key.
- ``Version2/class-wc-rest-products-v2-controller.php`` ``save_taxonomy_terms``: ``categories`` REPLACES the
  product's categories with the ids sent (``set_category_ids``).
- ``Version3/class-wc-rest-product-variations-controller.php`` ``prepare_object_for_database``: a variation's
  ``attributes`` are matched to the PARENT's variation attributes, by global id or by sanitized name
  (``sanitize_title``; a global attribute's key is its taxonomy ``pa_<slug>``); non-matches are silently skipped
  and the result REPLACES the variation's set; a global attribute's value is the term whose name was sent, else the
  sanitized text.

UNCONFIRMED (stricter reading): options of a global attribute that name no existing term are dropped (core may
create the term); categories are not checked against a category registry (WordPress ignores unknown term ids).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nfsync.connectors.base.sandbox import SbListing, SbVariant
from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure, slug

IMAGE_UPLOAD_ERROR = "woocommerce_product_image_upload_error"
INVALID_IMAGE_ID = "woocommerce_product_invalid_image_id"
Json = dict[str, Any]


def sanitize_title(text: str) -> str:
    """WordPress ``sanitize_title`` as far as attribute names need it: accents removed, lower case, every run of
    other characters one ``-``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", plain.lower()).strip("-")


@dataclass
class GlobalAttribute:
    """A ``pa_*`` taxonomy (Products > Attributes) and its terms."""

    id: int
    name: str
    terms: list[str]

    @property
    def taxonomy(self) -> str:
        return "pa_" + sanitize_title(self.name)

    def term(self, option: str) -> str | None:
        return next((t for t in self.terms if t.lower() == option.lower()), None)


@dataclass
class Attribute:
    id: int  # a global attribute's id; 0 for a custom one
    name: str
    options: list[str]
    position: int = 0
    visible: bool = False
    variation: bool = False

    def json(self) -> Json:
        return {
            "id": self.id,
            "name": self.name,
            "position": self.position,
            "visible": self.visible,
            "variation": self.variation,
            "options": list(self.options),
        }


@dataclass
class Content:
    categories: list[int] = field(default_factory=list)
    images: list[int] = field(default_factory=list)  # attachment ids; the first is the featured image
    attributes: list[Attribute] | None = None  # None: derived from the variants (listings seeded by the sandbox)
    meta: list[Json] = field(default_factory=list)
    slug: str | None = None  # post_name: set once, a later rename keeps it (None: derived from the name)
    weight: str = ""  # in the store's weight unit (settings/products/woocommerce_weight_unit)
    dimensions: dict[str, str] = field(default_factory=lambda: {"length": "", "width": "", "height": ""})


@dataclass
class Attachment:
    id: int
    path: str  # under the store's home
    name: str
    alt: str = ""


@dataclass
class Store:
    """Per sandbox: attachments (the media library), global attributes, each product's content."""

    new_id: Callable[[], str]
    attachments: dict[int, Attachment] = field(default_factory=dict)
    globals: dict[int, GlobalAttribute] = field(default_factory=dict)
    products: dict[str, Content] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)  # every src downloaded into a new attachment

    def content(self, item_id: str) -> Content:
        return self.products.setdefault(item_id, Content())

    def add_global(self, name: str, terms: Sequence[str]) -> GlobalAttribute:
        attribute = GlobalAttribute(len(self.globals) + 1, name, list(terms))
        self.globals[attribute.id] = attribute
        return attribute

    # ------------------------------------------------------------------ product writes

    def prepare(self, listing: SbListing, body: Mapping[str, Any]) -> Callable[[], None]:
        """Check what can fail (images) before anything is applied; returns the apply step."""
        images = self._images(body["images"]) if isinstance(body.get("images"), list) else None
        attributes = self._attributes(body["attributes"]) if isinstance(body.get("attributes"), list) else None

        def apply() -> None:
            content = self.content(listing.item_id)
            if isinstance(body.get("categories"), list):
                content.categories = _category_ids(body["categories"])
                listing.category_id = str(content.categories[0]) if content.categories else None
            if images is not None:
                content.images = images
            if attributes is not None:
                content.attributes = attributes
            if isinstance(body.get("meta_data"), list):
                _upsert_meta(content.meta, body["meta_data"], self.new_id)
            if isinstance(body.get("weight"), str):
                content.weight = body["weight"]
            if isinstance(body.get("dimensions"), dict):
                sizes = body["dimensions"]
                content.dimensions = {k: str(sizes.get(k, content.dimensions[k])) for k in content.dimensions}
            if body.get("slug") or content.slug is None:
                content.slug = slug(str(body.get("slug") or body.get("name") or listing.name))

        return apply

    def _images(self, images: list[Any]) -> list[int]:
        found = []
        for image in [i for i in images if isinstance(i, dict) and i]:
            attachment_id = _int(image.get("id"))
            if not attachment_id and image.get("src"):
                attachment_id = self._download(str(image["src"]), str(image.get("name") or ""))
            if attachment_id not in self.attachments:
                raise WcFailure(400, INVALID_IMAGE_ID, f"#{attachment_id} is an invalid image ID.")
            found.append(attachment_id)
        return found

    def _download(self, src: str, name: str) -> int:
        parts = urlsplit(src)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WcFailure(400, IMAGE_UPLOAD_ERROR, f"Error getting remote image {src}.")
        self.downloads.append(src)
        attachment = Attachment(int(self.new_id()), "", name)
        basename = parts.path.rsplit("/", 1)[-1] or "image.jpg"
        attachment.path = f"/wp-content/uploads/{attachment.id}-{basename}"  # a new file every time
        attachment.name = name or basename.rsplit(".", 1)[0]
        self.attachments[attachment.id] = attachment
        return attachment.id

    def _attributes(self, sent: list[Any]) -> list[Attribute]:
        found = []
        for entry in [e for e in sent if isinstance(e, dict)]:
            attribute = self._attribute(entry)
            if attribute is not None:
                found.append(attribute)
        return found

    def _attribute(self, entry: Mapping[str, Any]) -> Attribute | None:
        options = [str(o) for o in entry.get("options") or [] if str(o)]
        flags = (_int(entry.get("position")), bool(entry.get("visible")), bool(entry.get("variation")))
        global_id = _int(entry.get("id"))
        if global_id:
            known = self.globals.get(global_id)
            terms = [t for t in (known.term(o) for o in options) if t] if known else []
            return Attribute(global_id, known.name, terms, *flags) if known and terms else None
        name = str(entry.get("name") or "")
        return Attribute(0, name, options, *flags) if name and "options" in entry else None

    # ------------------------------------------------------------------ variations

    def attributes_of(self, listing: SbListing) -> list[Attribute]:
        stored = self.content(listing.item_id).attributes
        return stored if stored is not None else derived_attributes(listing.variants)

    def variation_options(self, listing: SbListing, sent: Any) -> dict[str, str]:
        """The variation's attributes as core keeps them: matched to the parent's variation attributes, the rest
        skipped. A listing whose attributes are derived from its variants accepts any name."""
        entries = [e for e in sent if isinstance(e, dict)] if isinstance(sent, list) else []
        if self.content(listing.item_id).attributes is None:
            return {str(e.get("name") or e.get("id")): str(e.get("option") or "") for e in entries}
        parents = [a for a in self.attributes_of(listing) if a.variation]
        options: dict[str, str] = {}
        for entry in entries:
            parent = self._parent_attribute(parents, entry)
            if parent is not None:
                options[parent.name] = self._option(parent, str(entry.get("option") or ""))
        return options

    def _parent_attribute(self, parents: list[Attribute], entry: Mapping[str, Any]) -> Attribute | None:
        global_id = _int(entry.get("id"))
        if global_id:
            return next((a for a in parents if a.id == global_id), None)
        key = sanitize_title(str(entry.get("name") or ""))
        return next((a for a in parents if key and self._key(a) == key), None)

    def _key(self, attribute: Attribute) -> str:
        known = self.globals.get(attribute.id) if attribute.id else None
        return known.taxonomy if known else sanitize_title(attribute.name)

    def _option(self, attribute: Attribute, option: str) -> str:
        known = self.globals.get(attribute.id) if attribute.id else None
        if known is None:
            return option
        return known.term(option) or sanitize_title(option)

    def variation_fields(self, listing: SbListing, variant: SbVariant, home: str) -> Json:
        """What a variation shows of its parent's content: attributes (global ones with their id), permalink."""
        ids = {a.name: a.id for a in self.attributes_of(listing)}
        attributes = [{"id": ids.get(n, 0), "name": n, "option": o} for n, o in variant.options.items()]
        return {
            "attributes": attributes,
            "permalink": f"{home}/product/{self.slug(listing)}/?variation_id={variant.variant_id}",
        }

    # ------------------------------------------------------------------ rendering

    def render(self, listing: SbListing, home: str, *, variable: bool) -> Json:
        content = self.content(listing.item_id)
        seeded = _int(listing.category_id)  # a listing seeded by the sandbox has only the shared category_id
        categories = content.categories or ([seeded] if seeded else [])
        name = self.slug(listing)
        return {
            "slug": name,
            "permalink": f"{home}/product/{name}/",
            "categories": [{"id": c, "name": f"Category {c}", "slug": f"category-{c}"} for c in categories],
            "images": [self._image_json(self.attachments[i], home) for i in content.images if i in self.attachments],
            "attributes": [a.json() for a in self.attributes_of(listing)] if variable else _simple_attributes(content),
            "meta_data": [dict(m) for m in content.meta],
            "weight": content.weight,
            "dimensions": dict(content.dimensions),
        }

    def slug(self, listing: SbListing) -> str:
        return self.content(listing.item_id).slug or slug(listing.name)

    def _image_json(self, attachment: Attachment, home: str) -> Json:
        return {"id": attachment.id, "src": home + attachment.path, "name": attachment.name, "alt": attachment.alt}

    def forget(self, item_id: str) -> None:
        self.products.pop(item_id, None)


def derived_attributes(variants: Sequence[SbVariant]) -> list[Attribute]:
    names: dict[str, list[str]] = {}
    for variant in variants:
        for name, option in variant.options.items():
            values = names.setdefault(name, [])
            if option not in values:
                values.append(option)
    return [Attribute(0, name, options, i, True, True) for i, (name, options) in enumerate(names.items())]


def _simple_attributes(content: Content) -> list[Json]:
    return [a.json() for a in content.attributes or []]


def _category_ids(categories: list[Any]) -> list[int]:
    ids = [_int(c.get("id")) for c in categories if isinstance(c, dict)]
    return list(dict.fromkeys(i for i in ids if i))


def _upsert_meta(meta: list[Json], sent: list[Any], new_id: Callable[[], str]) -> None:
    """``WC_Data::update_meta_data``: by id when given, else by key (the first entry with it)."""
    for entry in [e for e in sent if isinstance(e, dict) and e.get("key")]:
        found = next(
            (m for m in meta if (entry.get("id") and m["id"] == entry["id"]) or m["key"] == entry["key"]), None
        )
        if found is not None:
            found["value"] = entry.get("value")
        else:
            meta.append({"id": int(new_id()), "key": str(entry["key"]), "value": entry.get("value")})


def _int(value: Any) -> int:
    try:
        return int(value) if value not in (None, "") else 0
    except (TypeError, ValueError):
        return 0
