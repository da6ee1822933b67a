"""The sandboxes refuse a new listing the way their platforms do (issue #16): images only their own media endpoint
issued, brands they know, package and logistics, titles in range, each with the documented error code
(docs/platforms/listings/). A client that skipped nfsync's checks before the call would meet these."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.listing import Brand, LogisticsChannel, Package
from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.workers.lab.connector_bench import image_uploads
from tests.connectors.listable import listable
from tests.connectors.test_contract import Rig, rig  # noqa: F401 - the fixture

Change = Callable[[ListingDraft], ListingDraft]


def _with(**fields: object) -> Change:
    return lambda draft: draft.model_copy(update=fields)


NO_IMAGE, FOREIGN_IMAGE = _with(images=[]), _with(images=["https://images.example.com/never-uploaded.jpg"])
UNKNOWN_BRAND = _with(brand=Brand(id="987654", name="Unknown"))
CASES: dict[str, list[tuple[str, Change, str]]] = {
    "shopee": [
        ("no image", NO_IMAGE, "error_image_num_min"),
        ("an image it did not issue", FOREIGN_IMAGE, "error_param"),
        ("no logistics", _with(logistics=[]), "error_invalid_logistic_info"),
        ("a disabled channel", _with(logistics=[LogisticsChannel(id="80002")]), "error_invalid_logistic_info"),
        ("an unknown channel", _with(logistics=[LogisticsChannel(id="12345")]), "error_invalid_logistic_info"),
        ("no weight", _with(package=Package(length_cm=Decimal(1))), "error_param"),
        ("an unknown brand", UNKNOWN_BRAND, "error_invalid_brand"),
        ("no description", _with(description="  "), "error_param"),
    ],
    "lazada": [
        ("no image", NO_IMAGE, "4139"),
        ("an image it did not host", FOREIGN_IMAGE, "4138"),
        ("no brand", _with(brand=None), "4108"),
        ("an unknown brand", UNKNOWN_BRAND, "4142"),
        ("no package height", _with(package=Package(weight_kg=Decimal(1), length_cm=1, width_cm=1)), "4108"),
        ("a package over 40 kg", _with(package=Package(weight_kg=41, length_cm=1, width_cm=1, height_cm=1)), "4164"),
        ("sides over 300 cm", _with(package=Package(weight_kg=1, length_cm=100, width_cm=100, height_cm=101)), "4165"),
    ],
    "tiktok": [
        ("no image", NO_IMAGE, "12052028"),
        ("an image it did not issue", _with(images=["tos-alisg-i-never-uploaded"]), "12052300"),
        ("ten images", lambda d: d.model_copy(update={"images": d.images * 10}), "12052306"),
        ("a title under 25 characters", _with(name="A short title"), "12052910"),
        ("a title over 255 characters", _with(name="T" * 256), "12052051"),
    ],
}


def _draft() -> ListingDraft:
    return ListingDraft(
        name="A strict listing of a cotton shirt",
        description="<p>cotton</p>",
        category_id="100100",
        variants=[VariantDraft(sku="STRICT-1", price=Decimal("99000"), stock=3)],
    )


async def test_each_refusal_has_the_documented_code_and_a_complete_draft_is_created(rig: Rig) -> None:  # noqa: F811
    cases = CASES.get(rig.spec.name)
    if cases is None:
        pytest.skip("WooCommerce takes image URLs and has no brand, package or logistics rules")
    complete = await listable(rig.client, _draft())
    for name, change, code in cases:
        with pytest.raises(PermanentError) as refused:
            await rig.client.create_listing(change(complete))
        assert refused.value.fields["code"] == code, (name, str(refused.value))
    assert rig.sandbox.counters.creates == 0, "a refused create writes nothing"
    listing = await rig.client.create_listing(complete)
    assert [v.sku for v in listing.variants] == ["STRICT-1"] and rig.sandbox.counters.creates == 1


async def test_an_update_takes_only_images_the_platform_issued(rig: Rig) -> None:  # noqa: F811
    if rig.spec.name not in CASES:
        pytest.skip("WooCommerce takes image URLs")
    complete = await listable(rig.client, _draft())
    listing = await rig.client.create_listing(complete)
    foreign = "tos-alisg-i-never-uploaded" if rig.spec.name == "tiktok" else "https://images.example.com/x.jpg"
    with pytest.raises(PermanentError):
        await rig.client.update_listing(listing.platform_item_id, complete.model_copy(update={"images": [foreign]}))
    renamed = complete.model_copy(update={"name": "A strict listing of a linen shirt"})
    assert (await rig.client.update_listing(listing.platform_item_id, renamed)).name == renamed.name


async def test_the_upload_bench_reports_every_figure_and_skips_platforms_without_uploads() -> None:
    """`nfsync bench connector`'s image-upload figures (no timing asserted: figures belong to the bench)."""
    figures = await image_uploads(load_sandbox("shopee"), seconds=0.3, rate=20)
    assert figures is not None and figures["throttled"] == 0
    assert figures["uploads_per_s"] > 0 and figures["unthrottled_per_s"] > 0 and figures["share_of_limit"] > 0
    assert await image_uploads(load_sandbox("woocommerce"), seconds=0.3, rate=20) is None
