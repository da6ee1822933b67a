"""The parts of a listing's content that the CRM catalog does not hold, in the shape every connector reads: brand,
category attributes, package, logistics channels. nfsync's listing profiles (``workers/listing``) are made of them,
and a ``ListingDraft`` carries them to the connector, which writes them in its platform's terms.

Bounds here are on input only (no text longer than an id column, no size beyond a tonne or ten metres); what a
platform takes is checked against its own rules before any call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

MAX_TEXT = 255
MAX_ATTRIBUTE_VALUES = 30
MAX_DIMENSION = Decimal(1000)


def _text(value: object) -> object:
    """Platform ids arrive as numbers from some clients (Shopee's int64 ids): they are text here."""
    return str(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=MAX_TEXT)]
Size = Annotated[Decimal, Field(gt=0, le=MAX_DIMENSION, max_digits=12, decimal_places=3)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(_Part):
    """The platform's brand id, or its name where the platform takes one."""

    id: Text | None = None
    name: Text | None = None

    @model_validator(mode="after")
    def _one_at_least(self) -> Brand:
        if self.id is None and self.name is None:
            raise ValueError("a brand needs an id or a name")
        return self


class Package(_Part):
    """Package weight in kilograms and dimensions in centimetres (each connector converts to its platform's units)."""

    weight_kg: Size | None = None
    length_cm: Size | None = None
    width_cm: Size | None = None
    height_cm: Size | None = None


class AttributeValue(_Part):
    """One attribute of the platform category: its id, and value ids or free text as the attribute takes them."""

    id: Text
    values: Annotated[list[Text], Field(min_length=1, max_length=MAX_ATTRIBUTE_VALUES)]
    unit: Text | None = None


class LogisticsChannel(_Part):
    """A shipping channel enabled for the listing (Shopee ``logistic_info``)."""

    id: Text
    enabled: bool = True
    size_id: Text | None = None
    shipping_fee: Annotated[Decimal, Field(ge=0, le=Decimal(10) ** 9, max_digits=14, decimal_places=2)] | None = None
    is_free: bool | None = None


PACKAGE_FIELDS = ("weight_kg", "length_cm", "width_cm", "height_cm")


@dataclass(frozen=True)
class ListingRules:
    """What a platform refuses a new listing without, whatever the category (a category's own attributes and brand
    rules come from the platform's category APIs). Each platform states its values with their sources
    (``docs/platforms/listings/``); where the sources are silent, the stricter reading, marked UNCONFIRMED there."""

    brand: bool = False
    package: tuple[str, ...] = ()  # of PACKAGE_FIELDS
    logistics: bool = False
    description: bool = False
    images: tuple[int, int] = (0, 9)  # at least, at most
    title: tuple[int, int] = (1, 255)  # characters
    description_max: int | None = None  # characters
    variants_max: int = 100
    sale_properties_max: int = 3
    max_weight_kg: Decimal | None = None
    max_girth_cm: Decimal | None = None  # length + width + height


@dataclass
class Refusal:
    """Why a draft cannot be sent: fields it lacks, and fields the platform takes in a narrower range."""

    missing: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.invalid)

    def reason(self) -> str:
        parts = [f"missing required fields: {', '.join(self.missing)}"] if self.missing else []
        return "; ".join(parts + self.invalid)


@dataclass(frozen=True)
class DraftShape:
    """The parts of a listing draft the platform rules look at."""

    title: str
    description: str
    images: int
    brand: Brand | None
    package: Package | None
    logistics: int
    variants: int
    sale_properties: int


def check_rules(rules: ListingRules, shape: DraftShape) -> Refusal:
    """What the platform would refuse in a listing of this shape, before any call."""
    out = Refusal()
    if rules.brand and shape.brand is None:
        out.missing.append("brand")
    package = shape.package
    out.missing.extend(_package_name(f) for f in rules.package if package is None or getattr(package, f) is None)
    if rules.logistics and shape.logistics == 0:
        out.missing.append("logistics")
    if rules.description and not shape.description.strip():
        out.missing.append("description")
    if shape.images < rules.images[0]:
        out.missing.append("images")
    out.invalid.extend([*_ranges(rules, shape), *_package_limits(rules, package)])
    return out


def _package_name(name: str) -> str:
    """``package_height`` for ``height_cm``: the field as the platforms' references name it."""
    return "package_" + name.split("_", 1)[0]


def _ranges(rules: ListingRules, shape: DraftShape) -> list[str]:
    (low, high), title = rules.title, shape.title
    checks = [
        (not low <= len(title) <= high, f"the title must be {low} to {high} characters (it has {len(title)})"),
        (shape.images > rules.images[1], f"at most {rules.images[1]} images (it has {shape.images})"),
        (shape.variants > rules.variants_max, f"at most {rules.variants_max} variants (it has {shape.variants})"),
        (
            shape.sale_properties > rules.sale_properties_max,
            f"at most {rules.sale_properties_max} sale properties (it has {shape.sale_properties})",
        ),
        (
            rules.description_max is not None and len(shape.description) > rules.description_max,
            f"the description must be at most {rules.description_max} characters",
        ),
    ]
    return [message for failed, message in checks if failed]


def _package_limits(rules: ListingRules, package: Package | None) -> list[str]:
    if package is None:
        return []
    out = []
    if rules.max_weight_kg is not None and package.weight_kg is not None and package.weight_kg > rules.max_weight_kg:
        out.append(f"the package may weigh at most {rules.max_weight_kg} kg")
    sides = [s for s in (package.length_cm, package.width_cm, package.height_cm) if s is not None]
    if rules.max_girth_cm is not None and len(sides) == 3 and sum(sides) > rules.max_girth_cm:
        out.append(f"length + width + height may be at most {rules.max_girth_cm} cm")
    return out
