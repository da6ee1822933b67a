"""WooCommerce REST API v3: what to do about each answer.

Sources (the references cited in tests/contracts; WC-CORE ``class-wc-rest-authentication.php``,
``class-wc-rest-controller.php``, ``class-wc-rest-crud-controller.php``): errors are an HTTP status plus the JSON
body ``{"code", "message", "data": {"status"}}``. WooCommerce has no rate limit of its own; hosts and WAFs answer
429 or 503, with or without ``Retry-After``. Keys never expire and are never refreshed, so no answer means
"refresh": a refused key (wrong, revoked, read-only, user deleted) needs the merchant to authorize again.

Failed items of a batch come back inside an HTTP 200 as ``{"id", "error": {"code", "message", "data"}}``; the
client turns them into failed ``ItemResult`` values with these same codes.
"""

from __future__ import annotations

from nfsync.connectors.base.policy import Action, ErrorTable, Rule

AUTHENTICATION_ERROR = "woocommerce_rest_authentication_error"
"""Unknown consumer key, wrong secret or signature, timestamp or nonce refused, key without the permission."""
MISSING_OAUTH_PARAMETER = "woocommerce_rest_authentication_missing_parameter"
BATCH_TOO_LARGE = "woocommerce_rest_request_entity_too_large"
"""HTTP 413: more than 100 objects in one batch request (``woocommerce_rest_batch_items_limit``)."""
INVALID_PARAMETER = "rest_invalid_param"
INVALID_JSON = "rest_invalid_json"
NO_ROUTE = "rest_no_route"
DUPLICATE_SKU = "product_invalid_sku"
"""HTTP 400 "Invalid or duplicated SKU." (``WC_Product::set_sku``), with ``data.resource_id`` of the holder."""
PRODUCT_INVALID_ID = "woocommerce_rest_product_invalid_id"
VARIATION_INVALID_ID = "woocommerce_rest_product_variation_invalid_id"
ORDER_INVALID_ID = "woocommerce_rest_shop_order_invalid_id"
WEBHOOK_INVALID_ID = "woocommerce_rest_shop_webhook_invalid_id"
TRASH_NOT_SUPPORTED = "woocommerce_rest_trash_not_supported"
"""HTTP 501 to a DELETE without ``force=true`` of an object without trash (webhooks): deterministic, never retried."""
CANNOT_PREFIX = "woocommerce_rest_cannot_"
"""``woocommerce_rest_cannot_view/create/edit/batch``: no authenticated user, or one without the capability."""

ERROR_TABLE = ErrorTable(
    [
        Rule(Action.THROTTLE, status=429),
        # Hosts and WAFs also throttle with 503 (reference 5.4); it is the usual "overloaded" answer of PHP hosts.
        Rule(Action.THROTTLE, status=503),
        Rule(Action.RETRY, status=408),
        # A request we built without every oauth_* parameter: a bug of ours, not the merchant's keys.
        Rule(Action.PERMANENT, code=MISSING_OAUTH_PARAMETER),
        # 5xx answers that repeat whatever we do (WC-CORE webhooks controller delete_item): not retried.
        Rule(Action.PERMANENT, code=TRASH_NOT_SUPPORTED),
        Rule(Action.PERMANENT, status=500, code="woocommerce_rest_cannot_delete"),
        # Keys do not refresh: any 401 means the key is unknown, revoked, wrong or lacks the permission.
        Rule(Action.REAUTHORIZE, status=401),
        # 403 woocommerce_rest_cannot_*: a user WAS authenticated (rest_authorization_required_code) and lacks the
        # capability, or the request itself is wrong ("Parent product does not match current variation.",
        # WC-CORE-VARIATIONS-V2 update_item_permissions_check): the same keys will be refused again.
        Rule(Action.PERMANENT, status=403, code_prefix=CANNOT_PREFIX),
        Rule(Action.PERMANENT, status=413),
    ]
)
