"""The sandboxes' category tree: a few categories whose requirements look like the platforms' (a closed mandatory
attribute, a multi-valued free one, sale properties, a category that needs a brand and package dimensions), so
that the checks before a call and the sandboxes' refusals can be exercised. Synthetic: not any platform's real ids.

``100100`` (General) asks for nothing: it is the lab's default category, so every existing flow keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SbAttribute:
    id: int
    name: str
    required: bool = False
    multiple: bool = False
    custom: bool = False
    sale_property: bool = False
    values: dict[int, str] = field(default_factory=dict)
    required_if: tuple[tuple[int, int], ...] = ()  # (attribute id, value id): TikTok Shop requirement_conditions
    sku_level: bool = False  # Lazada attribute_type "sku": a value on each SKU (the others have no such attributes)


@dataclass(frozen=True)
class SbCategory:
    id: int
    name: str
    parent: int | None
    leaf: bool
    attributes: tuple[SbAttribute, ...] = ()
    brand_required: bool = False
    package_dimensions_required: bool = False


MATERIAL = SbAttribute(100134, "Material", required=True, values={1001: "Cotton", 1002: "Linen", 1003: "Polyester"})
SLEEVE = SbAttribute(100135, "Sleeve Length", values={2001: "Short", 2002: "Long"}, required_if=((100134, 1002),))
MODELS = SbAttribute(100200, "Compatible Model", required=True, multiple=True, custom=True)
COLOR = SbAttribute(100300, "color_family", sale_property=True, custom=True)
SIZE = SbAttribute(100301, "size", sale_property=True, custom=True)
MODEL_CODE = SbAttribute(100400, "model_code", required=True, custom=True, sku_level=True)

CATEGORIES = {
    c.id: c
    for c in (
        SbCategory(100001, "Fashion", None, leaf=False),
        SbCategory(100017, "Women's T-shirts", 100001, leaf=True, attributes=(MATERIAL, SLEEVE, COLOR, SIZE)),
        SbCategory(100002, "Phones & Accessories", None, leaf=False),
        SbCategory(
            100018,
            "Phone Cases",
            100002,
            leaf=True,
            attributes=(MODELS, MODEL_CODE, COLOR),
            brand_required=True,
            package_dimensions_required=True,
        ),
        SbCategory(100100, "General", None, leaf=True, attributes=(COLOR, SIZE)),
    )
}


CATEGORIES_ATTRIBUTES = (MATERIAL, SLEEVE, MODELS, MODEL_CODE, COLOR, SIZE)

BRANDS = {0: "No brand", 1146: "NextFlow"}
"""The brands every sandbox knows (0 is Shopee's No brand, docs/platforms/listings/shopee.md; Lazada's and TikTok
Shop's real ids differ per country and are looked up from their brand APIs)."""


def known_brand(value: object) -> bool:
    """A brand id as a payload carries it (number or digits) that the sandboxes know."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return text.isdigit() and int(text) in BRANDS


def category(category_id: object) -> SbCategory | None:
    try:
        return CATEGORIES.get(int(str(category_id)))
    except ValueError:
        return None


def missing_attributes(
    found: SbCategory, given: dict[int, list[str]], *, conditions: bool = False
) -> list[SbAttribute]:
    """The category's mandatory attributes ``given`` (attribute id -> values) lacks; with ``conditions`` (TikTok
    Shop), also those another attribute's value makes mandatory (Linen needs a Sleeve Length here)."""
    return [
        a
        for a in found.attributes
        if not a.sale_property and not given.get(a.id) and (a.required or (conditions and _triggered(a, given)))
    ]


def _triggered(attribute: SbAttribute, given: dict[int, list[str]]) -> bool:
    names = {a.id: a for a in CATEGORIES_ATTRIBUTES}
    for other, value in attribute.required_if:
        held = given.get(other, [])
        if str(value) in held or names[other].values.get(value) in held:
            return True
    return False


def bad_values(found: SbCategory, given: dict[int, list[str]]) -> list[str]:
    """Values a closed attribute does not take, unknown attribute ids, several values for a single one."""
    known = {a.id: a for a in found.attributes}
    problems = []
    for attribute_id, values in given.items():
        rule = known.get(attribute_id)
        if rule is None:
            problems.append(f"attribute {attribute_id} is not an attribute of category {found.id}")
            continue
        allowed = {str(k) for k in rule.values} | set(rule.values.values())
        problems += [f"{rule.name}: {v!r} is not a value" for v in values if not rule.custom and v not in allowed]
        if len(values) > 1 and not rule.multiple:
            problems.append(f"{rule.name} takes one value")
    return problems
