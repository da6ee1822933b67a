"""What a platform category asks of a listing, in one shape for every platform: its attributes (mandatory or not,
with their allowed values), its sale properties, and its own rules (a brand or package dimensions it requires).

Each connector reads its platform's category APIs into ``CategoryRequirements`` (Shopee ``get_attribute_tree``,
Lazada ``GetCategoryAttributes``, TikTok Shop Get Attributes and Get Category Rules); ``check_attributes`` says what a
listing's attributes lack or hold wrongly, before any call. Sources per platform: ``docs/platforms/listings/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.listing import AttributeValue


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributeOption(_Part):
    id: str
    name: str


class AttributeCondition(_Part):
    """The attribute becomes required when another attribute holds this value (TikTok Shop
    ``requirement_conditions`` of type ``VALUE_ID_MATCH``)."""

    attribute_id: str
    value_id: str


class AttributeRule(_Part):
    """One attribute of a category. ``custom``: free text is accepted besides the listed values; ``multiple``: more
    than one value; ``sale_property``: it names variants (Lazada ``is_sale_prop``, TikTok ``SALES_PROPERTY``)."""

    id: str
    name: str
    required: bool = False
    multiple: bool = False
    custom: bool = True
    sale_property: bool = False
    values: list[AttributeOption] = Field(default_factory=list)
    max_values: int | None = None
    required_if: list[AttributeCondition] = Field(default_factory=list)  # any one of them makes it required
    sku_level: bool = False  # a value per SKU, not one for the product (Lazada ``attribute_type=sku``)

    def required_by(self, given: Mapping[str, list[str]]) -> bool:
        """Required outright, or because another attribute holds a value that makes it required."""
        return self.required or any(c.value_id in given.get(c.attribute_id, []) for c in self.required_if)

    def accepts(self, value: str) -> bool:
        return self.custom or not self.values or any(value in (o.id, o.name) for o in self.values)


class CategoryRequirements(_Part):
    """A leaf category's requirements as the platform states them (cached per shop by the service)."""

    category_id: str
    attributes: list[AttributeRule] = Field(default_factory=list)
    brand_required: bool = False
    package_dimensions_required: bool = False
    brands: list[AttributeOption] | None = None  # None: not listed here (too many, or the platform has no list)
    logistics: list[AttributeOption] | None = None  # channels the shop has enabled (Shopee); None: no such list

    def required(self) -> list[AttributeRule]:
        return [a for a in self.attributes if a.required and not a.sale_property]

    def sku_level_ids(self) -> list[str]:
        """Attributes written on each SKU (sale properties have their own place)."""
        return [a.id for a in self.attributes if a.sku_level and not a.sale_property]


def choice_problems(
    requirements: CategoryRequirements, brand_id: str | None, channel_ids: list[str]
) -> list[tuple[str, str]]:
    """A brand outside the category's list and channels the shop has not enabled, as (field path, reason), where the
    platform lists them."""
    out = []
    brands = requirements.brands
    if brands is not None and brand_id is not None and brand_id not in {b.id for b in brands}:
        out.append(("brand.id", f"brand {brand_id} is not one of the category's brands"))
    channels = requirements.logistics
    for index, channel in enumerate(channel_ids if channels is not None else []):
        if channel not in {c.id for c in channels or []}:
            out.append((f"logistics.{index}.id", f"logistics channel {channel} is not enabled for this shop"))
    return out


@dataclass
class AttributeProblems:
    missing: list[str] = field(default_factory=list)  # 'attribute "Material"'
    invalid: list[str] = field(default_factory=list)


def check_attributes(requirements: CategoryRequirements, given: list[AttributeValue]) -> AttributeProblems:
    """Mandatory attributes that are absent, and values the category does not take (an unknown attribute id, a value
    outside a closed list, several values for a single-valued attribute, more values than allowed)."""
    rules = {a.id: a for a in requirements.attributes if not a.sale_property}
    by_name = {a.name: a for a in rules.values()}
    out = AttributeProblems()
    values: dict[str, list[str]] = {}
    for attribute in given:
        rule = rules.get(attribute.id) or by_name.get(attribute.id)
        if rule is None:
            out.invalid.append(f"attribute {attribute.id!r} is not an attribute of category {requirements.category_id}")
            continue
        values[rule.id] = [_option_id(rule, v) for v in attribute.values]
        out.invalid.extend(_value_problems(rule, attribute.values))
    wanted = [a for a in rules.values() if a.required_by(values)]
    out.missing.extend(f'attribute "{a.name}"' for a in wanted if a.id not in values)
    return out


def _option_id(rule: AttributeRule, value: str) -> str:
    """A value given by its name stands for its option's id (conditions name value ids)."""
    return next((o.id for o in rule.values if value == o.name), value)


def _value_problems(rule: AttributeRule, values: list[str]) -> list[str]:
    problems = [f'attribute "{rule.name}": {v!r} is not one of its values' for v in values if not rule.accepts(v)]
    if len(values) > 1 and not rule.multiple:
        problems.append(f'attribute "{rule.name}" takes one value')
    if rule.max_values is not None and len(values) > rule.max_values:
        problems.append(f'attribute "{rule.name}" takes at most {rule.max_values} values')
    return problems
