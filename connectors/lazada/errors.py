"""What to do about each Lazada Open Platform error.

Lazada answers errors in the JSON body: ``code`` != ``"0"`` with ``type``, ``message`` and ``request_id``; the HTTP
status of an error is not documented (UNCONFIRMED), so every rule below matches on the body code whatever the
status, and the shared default (401 refresh, 429 throttle, 5xx retry, other 4xx permanent) covers answers without a
body code. A code in an HTTP 200 answer without a rule is permanent.

Sources: tests/contracts/lazada.json, from github lazykern/ecommerce-api-docs (the error tables of every API in
data/raw/lazada/apis/**, data/processed/lazada/guides/developers-guide/error-messages.md, product Q&A A10).

The classification is on the code, never on ``type``: error-messages.md contradicts itself (its list calls ISP
"backend service error", its heading "Business data error (ISP errors)"), and the per-code type is documented
nowhere. One code means different things per API: ``6`` is "Invalid status filter" for GetOrders (permanent) and
an internal error elsewhere (retryable); :func:`effective_code` tells them apart by the message.
"""

from __future__ import annotations

from nfsync.connectors.base.policy import Action, ErrorTable, Rule

INVALID_RESPONSE = "InvalidResponse"
"""Our own code for a 2xx answer whose body is not a JSON object (never sent by Lazada)."""

# Codes the sandbox answers with, named once for both sides.
THROTTLED = "ApiCallLimit"
ILLEGAL_ACCESS = "IllegalAccessToken"
ILLEGAL_REFRESH = "IllegalRefreshToken"
SIGNATURE = "IncompleteSignature"
MISSING = "MissingParameter"
TIMESTAMP = "InvalidTimestamp"  # UNCONFIRMED: no source names the code of a timestamp outside the 7200 s window
APP_KEY = "InvalidAppKey"  # UNCONFIRMED: no source names the code of an unknown app_key (APP_KEY_INVALID: wallet APIs)
STATUS_FILTER = "6:status_filter"
"""Our code for GetOrders' ``6`` "Invalid status filter" (its only documented meaning there)."""
INVALID_CODE = "InvalidCode"
INTERNAL = "1000"
UPDATE_FAILED = "501"  # "overview error code ... check the detail field" (UpdatePriceQuantity, UpdateProduct)
CREATE_FAILED = "500"  # same, CreateProduct
TOO_MANY_SKUS = "4171"  # UpdatePriceQuantity: more than 50 SKUs in one request
TOO_MANY_SKU = "204"  # UpdatePriceQuantity, UpdateSellableQuantity: "E204: Too many SKU in one request"
INVALID_VARIATION = "209"  # CreateProduct/UpdateProduct: too many variants in the payload
INVALID_LIMIT = "19"
INVALID_OFFSET = "14"
INVALID_DATE = "17"
TOO_MANY_ORDERS = "38"  # GetMultipleOrderItems: more than 50 order ids

ITEM_NOT_FOUND = frozenset({"207", "208", "EDIT_ITEM_NOT_BELONG_SELLER"})
"""GetProductItem: the item does not exist (in this shop)."""
ORDER_NOT_FOUND = frozenset({"16"})
"""GetOrder: "Invalid Order ID" (not an order of this shop)."""
PARTIAL_FAILURE = frozenset({UPDATE_FAILED, CREATE_FAILED})
"""Overview codes whose ``detail`` array names the SKUs that failed (the others went through)."""

_THROTTLE = (
    THROTTLED,  # "Api access frequency exceeds the limit. this ban will last 1 seconds"
    "901",  # "API level QPS limiting flow, please retry in the next second"
    "E901",
    "998",  # API switched off during mega campaigns (downgrade announcements)
    "4154",  # SYS_REQUEST_TOO_FAST "Slow down a bit! Too many operations at once" (CreateProduct)
)
_RETRY = (
    "ServiceTimeout",  # also the symptom of too many SKUs in one request
    "6",  # E006 unexpected internal error
    "E006",
    INTERNAL,  # Internal Application Error
    "513",  # internal call exception ("reduce the number of SKUs to 20 or less")
    "4147",  # THD_IC_ERR_F_IC_SERVICE_EDIT_002 "Concurrent product edit is not allowed"
    "4159",  # IC_EXCEPTION (CreateProduct: backend failure)
    "506",  # E506 "Get product failed" (GetProducts)
    "502",  # E502 "Search SPU failed" (CreateProduct)
    INVALID_RESPONSE,
)
_PERMANENT = (
    SIGNATURE,
    MISSING,
    TIMESTAMP,
    APP_KEY,
    INVALID_CODE,
    "InvalidApiPath",
    "SellerNotVerified",
    "SellerNotActive",
    CREATE_FAILED,
    UPDATE_FAILED,
    TOO_MANY_SKUS,
    TOO_MANY_SKU,
    INVALID_VARIATION,
    INVALID_LIMIT,
    INVALID_OFFSET,
    INVALID_DATE,
    TOO_MANY_ORDERS,
    "1",  # E001 parameter is mandatory
    "5",  # E005 invalid request format
    "30",  # E030 empty request
    "36",  # E036 invalid status filter
    STATUS_FILTER,
    "74",  # E074 invalid sort direction
    "75",  # E075 invalid sort filter
    "200",  # E200 empty item id
    "4170",  # mega campaign: stock may go up, not down (per SKU)
    "4225",  # semi-hosted SKU: use the sellable APIs (per SKU)
    "37",  # E037 one or more order ids are incorrect
    "39",  # E039 no orders were found
    "56",  # E056 invalid order id list format
    "70",  # E070 corrupt sku_seller_list
    "1001",  # payload is not JSON
    "4216",  # skuId is mandatory when updating a product
    *sorted(ITEM_NOT_FOUND),
    *sorted(ORDER_NOT_FOUND),
)

ERROR_TABLE = ErrorTable(
    [
        *(Rule(Action.THROTTLE, code=code) for code in _THROTTLE),
        *(Rule(Action.RETRY, code=code) for code in _RETRY),
        Rule(Action.REFRESH, code=ILLEGAL_ACCESS),  # "The specified access token is invalid or expired"
        Rule(Action.REAUTHORIZE, code=ILLEGAL_REFRESH),  # "The specified refresh token is invalid or expired"
        Rule(Action.REAUTHORIZE, code="AUTH_TYPE_UNSUPPORTED"),  # token bound to a service-market order: no refresh
        *(Rule(Action.PERMANENT, code=code) for code in _PERMANENT),
        Rule(Action.PERMANENT, code_prefix="THD_IC_ERR_F_IC_ABILITY_PG"),  # campaign locks
    ]
)


def effective_code(code: str, message: str) -> str:
    """The code the table classifies: GetOrders' ``6`` "Invalid status filter" becomes ``STATUS_FILTER``."""
    if code in ("6", "E006") and "status filter" in message.lower():
        return STATUS_FILTER
    return code
