"""What to do about each Shopee answer.

Sources: Shopee Open Platform's API reference as collected in lazykern/ecommerce-api-docs
(data/raw/shopee/apis/<module>/*.json, fields error_list and error_example) and the developer guide on
authorization (open.shopee.com). Our recorded contract: tests/contracts/shopee.json. Shopee puts the error in the JSON
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

from nfsync.connectors.base.policy import Action, ErrorTable, Rule

ACCESS_REFUSED = "error_auth"
REFRESH_REFUSED = "error_auth.refresh_token"
AUTH_OTHER = "error_auth.other"
INVALID_RESPONSE = "invalid_response"

# No rate-limit code is documented for the product and order APIs (reference 2.6). The sandbox answers a throttle
# with HTTP 429 and this code (UNCONFIRMED, our choice); the Ads API documents ``ads.rate_limit.*``.
THROTTLE_CODE = "error_too_many_request"

# error_auth is also Shopee's code for a stock rule of one item in update_stock's documented error examples ("Total
# stock must be more than reserved stock.", "Lack of location_id...", holiday mode): that fails the item, not the
# call. Only messages about the app, the shop or the permission stay call-level (the stricter reading: an unknown
# error_auth message fails the items of that call and the task goes on; UNCONFIRMED beyond the documented examples).
AUTH_ITEM = "error_auth.item"
AUTH_SHOP = "error_auth.shop"  # "Invalid partner_id or shopid.": the shop's authorization is gone (stricter reading)
# (word in the message, code), first match wins; no match: an item-level rule (AUTH_ITEM)
AUTH_MESSAGES = (
    ("refresh_token", REFRESH_REFUSED),
    ("access_token", ACCESS_REFUSED),
    ("invalid_code", "invalid_code"),
    ("partner_id", AUTH_SHOP),
    ("shopid", AUTH_SHOP),
    ("shop_id", AUTH_SHOP),
    ("permission", AUTH_OTHER),
    ("partner", AUTH_OTHER),
    ("sign", AUTH_OTHER),
)

# update_stock's documented examples also use error_server ("...full FBS shop, so normal stock must be equal to 0")
# and error_inner ("Invalid stock location ID") for rules of one item: permanent for that item, never retried.
ITEM_RULE = "error_item_rule"
ITEM_RULE_WORDS = ("fbs", "location")

# Expired-token codes seen in public integration code, not in Shopee's reference (UNCONFIRMED): refresh the token.
EXPIRED_TOKEN_CODES = frozenset({"invalid_acceess_token", "invalid_access_token"})

# Codes that concern the app or the credentials, never one item: a batch write re-raises them instead of turning
# them into failed per-item results.
CALL_LEVEL_CODES = frozenset({"error_sign", "error_permission", AUTH_OTHER, AUTH_SHOP, ACCESS_REFUSED})


def refine(code: str, message: str) -> str:
    """One table code for Shopee's (error, message) pair: the module prefix of documented codes is dropped
    (``product.error_server`` -> ``error_server``; ``ads.rate_limit.*`` and ``order.order_list_invalid_time`` keep
    theirs, they are matched whole), and ``error_auth`` is told apart by its message."""
    module, dot, rest = code.partition(".")
    if dot and (module == "common" or rest.startswith("error_")):
        code = rest
    text = message.lower().replace(" ", "_")
    if code in EXPIRED_TOKEN_CODES:
        return ACCESS_REFUSED
    if code in ("error_server", "error_inner") and any(word in text for word in ITEM_RULE_WORDS):
        return ITEM_RULE
    if code != "error_auth":
        return code
    return next((refined for word, refined in AUTH_MESSAGES if word in text), AUTH_ITEM)


def _rules(action: Action, *codes: str) -> list[Rule]:
    return [Rule(action, code=code) for code in codes]


ERROR_TABLE = ErrorTable(
    [
        *_rules(Action.THROTTLE, THROTTLE_CODE),
        Rule(Action.THROTTLE, code_prefix="ads.rate_limit."),
        *_rules(Action.REFRESH, ACCESS_REFUSED),
        *_rules(
            Action.REAUTHORIZE,
            REFRESH_REFUSED,
            AUTH_SHOP,
            "invalid_shop_id",
            "invalid_main_acount_id",
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
            "error_get_shop_fail",
            "error_busi_add_item_failed",  # documented message: "Add item failed. please try later"
            INVALID_RESPONSE,
        ),
        *_rules(
            Action.PERMANENT,
            AUTH_OTHER,
            AUTH_ITEM,
            ITEM_RULE,
            "error_permission",
            "error_sign",
            "error_param",
            "error_data",
            "error_item_not_found",
            "error_busi_update_stock_failed",
            "error_invalid_price",
            "error_cannt_edit_price_in_promotion",
            "order.order_list_invalid_time",
        ),
    ]
)
