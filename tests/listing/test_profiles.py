"""Listing profile layers: the shape each layer must have, and how layers merge into the effective profile."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from nfsync.connectors.base.outbound import OutboundPolicy
from nfsync.workers.listing.imports import ImportRefused, parse
from nfsync.workers.listing.profiles import ListingProfile, image_refusals, merged


def _p(**fields: object) -> ListingProfile:
    return ListingProfile.model_validate(fields)


def test_a_later_layer_replaces_what_it_sets_and_keeps_the_rest() -> None:
    defaults = _p(brand={"id": "0", "name": "No brand"}, logistics=[{"id": "1"}], package={"weight_kg": "0.5"})
    product = _p(category_id="42", package={"length_cm": 10}, images=["https://img.example.com/a.jpg"])
    override = _p(logistics=[{"id": "2"}, {"id": "3"}])
    out = merged([defaults, None, product, override])
    assert out.category_id == "42"
    assert out.brand is not None and out.brand.name == "No brand"
    assert [c.id for c in out.logistics] == ["2", "3"], "a list set in a later layer replaces the whole list"
    assert out.package is not None
    assert (out.package.weight_kg, out.package.length_cm) == (Decimal("0.5"), Decimal(10)), "package merges by field"
    assert out.images == ["https://img.example.com/a.jpg"]


def test_attributes_and_variants_merge_by_id() -> None:
    base = _p(
        attributes=[{"id": "a", "values": ["1"]}, {"id": "b", "values": ["2"]}],
        variants={"v1": {"images": ["https://img.example.com/1.jpg"], "sale_properties": {"Colour": "Red"}}},
        option_names={"Color": "Colour"},
    )
    top = _p(
        attributes=[{"id": "b", "values": ["3"]}],
        variants={"v1": {"sale_properties": {"Size": "M"}}, "v2": {"sale_properties": {"Colour": "Blue"}}},
        option_names={"Size": "Size"},
    )
    out = merged([base, top])
    assert {a.id: a.values for a in out.attributes} == {"a": ["1"], "b": ["3"]}
    assert out.variants["v1"].images == ["https://img.example.com/1.jpg"]
    assert out.variants["v1"].sale_properties == {"Colour": "Red", "Size": "M"}
    assert out.variants["v2"].sale_properties == {"Colour": "Blue"}
    assert out.option_names == {"Color": "Colour", "Size": "Size"}


def test_no_layer_is_an_empty_profile() -> None:
    assert merged([]) == ListingProfile()
    assert ListingProfile().stored() == {}


def test_numbers_given_for_ids_are_text() -> None:
    profile = _p(category_id=100017, brand={"id": 0}, attributes=[{"id": 5, "values": [7, "Cotton"]}])
    assert profile.category_id == "100017" and profile.brand is not None and profile.brand.id == "0"
    assert profile.attributes[0].values == ["7", "Cotton"]


@pytest.mark.parametrize(
    "url",
    ["https:///a.jpg", "ftp://example.com/a.jpg", "https://u:p@example.com/a.jpg", "https://example.com/" + "a" * 2100],
)
def test_image_urls_of_the_wrong_shape_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        _p(images=[url])


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example.com/a.jpg",
        "https://localhost/a.jpg",
        "https://printer.local/a.jpg",
        "https://127.0.0.1/a.jpg",
        "https://[fd00::1]/a.jpg",
        "https://[::ffff:10.0.0.1]/a.jpg",
        "https://100.64.0.1/a.jpg",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_image_urls_that_point_inside_or_are_not_https_are_refused_unless_the_operator_allows(url: str) -> None:
    profile = _p(images=["https://images.example.com/ok.jpg", url], variants={"v1": {"images": [url]}})
    refused = image_refusals(profile, OutboundPolicy())
    assert [path for path, _ in refused] == ["images.1", "variants.v1.images.0"]
    host = url.split("/")[2].strip("[]")
    assert image_refusals(profile, OutboundPolicy(frozenset({host}))) == [], "a host the operator allows"


def test_stored_holds_only_what_is_set() -> None:
    assert _p(category_id="1", package={"weight_kg": "1.5"}).stored() == {
        "category_id": "1",
        "package": {"weight_kg": "1.5"},
    }


def test_csv_cells_become_a_profile() -> None:
    rows = parse(b"product_id,brand_id,attribute:9\np1,0,a|b| \n", "csv")
    [(number, row)] = rows
    assert number == 1 and not isinstance(row, list)
    assert row.product_id == "p1" and row.profile.brand is not None and row.profile.brand.id == "0"
    assert row.profile.attributes[0].values == ["a", "b"]


def test_a_byte_order_mark_is_read_and_an_oversized_cell_refused() -> None:
    assert len(parse(b"\xef\xbb\xbfproduct_id\np1\n", "csv")) == 1
    with pytest.raises(ImportRefused):
        parse(b"product_id\n" + b"x" * 200_000 + b"\n", "csv")
