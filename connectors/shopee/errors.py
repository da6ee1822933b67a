"""What to do about each Shopee answer.

Source: /work/shared/reference/marketplaces.md sections 2.1 and 2.5 (SHP-DOC). Shopee puts the error in the JSON
body (``error``, ``message``; ``error`` is the empty string on success) and the HTTP status of an error is
UNCONFIRMED, so every rule below matches on the body code only; the shared default still covers a bare HTTP status
(5xx -> retry, 429 -> throttle) when a proxy answers with no Shopee body.

``error_auth`` is used by Shopee for three different things, told apart only by the message: an invalid or
expired access token ("Invalid access_token." -> refresh), a refused refresh token ("Invalid refresh_token." ->
re-authorize) and a missing permission ("No permission to current api." -> permanent). :func:`refine` turns the
(code, message) pair into one code the table can match; the codes it invents are ``error_auth.refresh_token`` and
``error_auth.other``. A ``common.`` prefix (seen as ``common.error_auth`` in docs samples) is dropped.
"""

from __future__ import annotations

from connectors.base.policy import Action, ErrorTable, Rule

ACCESS_REFUSED = "error_auth"
REFRESH_REFUSED = "error_auth.refresh_token"
AUTH_OTHER = "error_auth.other"
INVALID_RESPONSE = "invalid_response"

# No rate-limit code is documented for the product and order APIs (reference 2.6). The sandbox answers a throttle
# with HTTP 429 and this code (UNCONFIRMED, our choice); the Ads API documents ``ads.rate_limit.*``.
THROTTLE_CODE = "error_too_many_request"

# Codes that concern the app or the credentials, never one item: a batch write re-raises them instead of turning
# them into failed per-item results.
CALL_LEVEL_CODES = frozenset({"error_sign", "error_permission", AUTH_OTHER, ACCESS_REFUSED})


def refine(code: str, message: str) -> str:
    """One table code for Shopee's (error, message) pair."""
    code = code.removeprefix("common.")
    if code != "error_auth":
        return code
    text = message.lower().replace(" ", "_")
    if "refresh_token" in text:
        return REFRESH_REFUSED
    if "access_token" in text:
        return ACCESS_REFUSED
    return AUTH_OTHER


def _rules(action: Action, *codes: str) -> list[Rule]:
    return [Rule(action, code=code) for code in codes]


ERROR_TABLE = ErrorTable([
    *_rules(Action.THROTTLE, THROTTLE_CODE),
    Rule(Action.THROTTLE, code_prefix="ads.rate_limit."),
    *_rules(Action.REFRESH, ACCESS_REFUSED),
    *_rules(
        Action.REAUTHORIZE,
        REFRESH_REFUSED,
        "refresh_token_expired",
        "error_shop_refresh_token",
        "error_merchant_refresh_token",
        "shop_access_expired",
        "merchant_access_expired",
        "shop_no_linked",
        "merchant_no_linked",
        "shop_banned",
        "invalid_code",
    ),
    *_rules(
        Action.RETRY,
        "error_server",
        "error_inner",
        "error_system_busy",
        "error_network",
        "error_update_price_fail",
        INVALID_RESPONSE,
    ),
    *_rules(
        Action.PERMANENT,
        AUTH_OTHER,
        "error_permission",
        "error_sign",
        "error_param",
        "error_data",
        "error_item_not_found",
        "error_busi_update_stock_failed",
        "error_invalid_price",
        "error_cannt_edit_price_in_promotion",
        "order.order_list_invalid_time",
        "invalid_shop_id",
        "invalid_main_acount_id",
    ),
])  # fmt: skip
