"""TikTok Shop error codes and what the client does about each.

Sources (the references cited in tests/contracts 4.5; TTS-DOC ``common-errors.md``, ``rate-limits.md`` and the
per-API error lists in ``raw/tiktok/api-reference/**``). The envelope is ``{code, message, request_id, data}``
with ``code`` 0 on success. HTTP statuses: 429 for throttling and 503 for server protection are documented; 401
with ``106001`` is observed in the wild; the statuses of the other errors are UNCONFIRMED, so every rule below
keys on the body code where there is one.
"""

from __future__ import annotations

from nfsync.connectors.base.policy import Action, ErrorTable, Rule

# General and cross-domain (common-errors.md)
THROTTLED = "36009002"
INTERNAL = "36009003"
INVALID_CREDENTIALS = "36009004"  # bad app_key, token, timestamp window, unexpected shop_cipher, bad version
TIMEOUT = "36009007"
INVALID_PATH = "36009009"
INVALID_METHOD = "36009010"
INVALID_VERSION = "36009014"
INVALID_FORMAT = "36009022"
NOT_MULTIPART = "36009023"  # "content-type must be multipart/form-data" (common-errors.md)
UPLOAD_INVALID = "12038002"  # Upload Product Image: invalid upload file
UPLOAD_TOO_LARGE = "12038005"  # file size exceeds the maximum
UPLOAD_FORMAT = "12038015"  # format not supported
IMAGE_URI_ILLEGAL = "12052300"  # Create Product: main image URI illegal
IP_NOT_ALLOWED = "36009033"
SHOP_MISMATCH = "101000"
ACCESS_EXPIRED = "105002"
SCOPE_MISSING = "105005"
INVALID_SIGN = "106001"
MISSING_SHOP_CIPHER = "106013"

# Auth host (community-reported, EcomPHP/tiktokshop-php PR #15: "can not find related auth record",
# "rt has expired"); official list UNCONFIRMED.
AUTH_RECORD_NOT_FOUND = "36004005"
REFRESH_EXPIRED = "36004001"

# Orders (get-order-detail error list): transient failures to read orders.
ORDERS_UNAVAILABLE = ("10002014", "10002015", "10037002", "10037003", "10037004")
ORDER_PERMISSION_DENIED = "10006402"  # "permission denied": a scope the seller must grant (stricter reading)

# Products: internal errors named as such in the create/edit/price error lists ("product api internal error",
# "identity internal error"): retried (a create is resent with the same idempotency_key).
PRODUCT_INTERNAL = ("12001000", "12052881")

# Products (search/get/create/price/inventory error lists)
PAGE_CURSOR_INVALID = "12019108"
PAGE_SIZE_INVALID = "12019109"
TOO_MANY_SELLER_SKUS = "12019027"
TOO_MANY_SKU_IDS = "12019087"
SEARCH_RESULT_CAP = "12052180"  # "The total number of search results can not exceed 10000."
PRODUCT_NOT_FOUND = "12052032"
PRODUCT_NOT_FOUND_CODES = frozenset({PRODUCT_NOT_FOUND, "12019150", "12052260", "12052048"})
TOO_MANY_SKUS = "12052050"
CATEGORY_NOT_FOUND = "12052023"
NOT_LEAF_CATEGORY = "12052024"  # "not a leaf category" (create-product.spec.json)
PROPERTY_REQUIRED = "12052104"  # "property is required"
PROPERTY_VALUE_UNKNOWN = "12052529"  # "property value id does not exist"
DESCRIPTION_REQUIRED = "12052015"
MAIN_IMAGE_REQUIRED = "12052028"
MAIN_IMAGE_URI_ILLEGAL = "12052300"
TOO_MANY_MAIN_IMAGES = "12052306"
TITLE_TOO_LONG = "12052051"
PRICE_MISSING = "12052571"
INVENTORY_OUT_OF_RANGE = "12052055"
PRICE_INVALID = "12052073"
CURRENCY_INVALID = "12052084"
WAREHOUSE_NOT_FOUND = "12052097"
NO_VALID_WAREHOUSE = "12019022"  # "SKU must contain a valid warehouse" (update-inventory)
MULTI_WAREHOUSE = "12019028"  # several warehouses, not all listed (update-inventory)
WAREHOUSE_DETAILS_MISSING = "12052516"  # edit: inventory must list every warehouse assigned to the SKU
WAREHOUSES_CHANGED = "12052533"  # a SKU's warehouses cannot be removed, added or changed (inventory, edit)
SKU_NOT_FOUND = "12052556"
SKU_NOT_IN_PRODUCT = "12052557"
SKU_DUPLICATE = "12052553"
SKU_LIST_EMPTY = "12052902"
PRODUCT_STATUS_INVALID = "12052901"
CHECK_FAILED = "12052990"
INPUT_INVALID = "12052910"  # "Invalid input parameters. Refer to the API documentation for details."

TOKEN_INVALID = "36009004:access_token"  # noqa: S105 - an error code, not a credential
"""Not a TikTok code: ``36009004`` whose message is about the access token (common-errors.md: "The
`x-tts-access-token` header is invalid" / "The `access_token` header is invalid"). The same code also means a
missing sign, a bad app_key, a clock outside the window, an unexpected shop_cipher or a bad version (permanent):
only the message tells them apart (``refine``)."""
INVALID_RESPONSE = "invalid_response"
"""Not a TikTok code: a 2xx answer whose body is not the JSON envelope (truncated, proxy page)."""
WAREHOUSE_SPLIT_REQUIRED = "warehouse_split_required"
"""Not a TikTok code: a stock write for a SKU stocked in several warehouses came without a per-warehouse split, so
nothing was sent (TikTok would refuse it: 12019028)."""
WAREHOUSE_NOT_ASSIGNED = "warehouse_not_assigned"
"""Not a TikTok code: a split names a warehouse the SKU is not assigned to, so nothing was sent (TikTok would refuse
it: 12052533)."""

REQUEST_LEVEL_CODES = frozenset(
    {
        INVALID_CREDENTIALS,
        TOKEN_INVALID,
        INVALID_SIGN,
        MISSING_SHOP_CIPHER,
        IP_NOT_ALLOWED,
        SCOPE_MISSING,
        SHOP_MISMATCH,
        INVALID_PATH,
        INVALID_METHOD,
        INVALID_VERSION,
        INVALID_FORMAT,
    }
)
"""Permanent errors about the request or the credentials, never about one item: a batch re-raises them."""

ERROR_TABLE = ErrorTable(
    [
        Rule(Action.THROTTLE, code=THROTTLED),
        Rule(Action.THROTTLE, status=429),
        Rule(Action.THROTTLE, status=503),  # "non-platform-controlled protective measure" (rate-limits.md)
        Rule(Action.REFRESH, code=ACCESS_EXPIRED),
        Rule(Action.REFRESH, code=TOKEN_INVALID),  # refreshed once; refused again, the seller must re-authorize
        Rule(Action.RETRY, code=INTERNAL),
        Rule(Action.RETRY, code=TIMEOUT),
        Rule(Action.RETRY, code=INVALID_RESPONSE),
        *(Rule(Action.RETRY, code=code) for code in ORDERS_UNAVAILABLE),
        *(Rule(Action.RETRY, code=code) for code in PRODUCT_INTERNAL),
        Rule(Action.REAUTHORIZE, code=ORDER_PERMISSION_DENIED),
        Rule(Action.REAUTHORIZE, code=SCOPE_MISSING),  # the seller must grant the scope again
        Rule(Action.REAUTHORIZE, code=SHOP_MISMATCH),
        Rule(Action.REAUTHORIZE, code=AUTH_RECORD_NOT_FOUND),  # refresh token unknown or already spent
        Rule(Action.REAUTHORIZE, code=REFRESH_EXPIRED),
        Rule(Action.PERMANENT, code=INVALID_CREDENTIALS),  # shared by token, app_key and clock errors
        Rule(Action.PERMANENT, code=INVALID_SIGN),
        Rule(Action.PERMANENT, code=MISSING_SHOP_CIPHER),
        Rule(Action.PERMANENT, code=IP_NOT_ALLOWED),
        Rule(Action.PERMANENT, code=INVALID_VERSION),
    ]
)


def refine(code: str, message: str) -> str:
    """One table code for TikTok's (code, message) pair: ``36009004`` about the access token is ``TOKEN_INVALID``;
    every other code is itself."""
    text = message.lower()
    if code == INVALID_CREDENTIALS and ("access_token" in text or "access-token" in text) and "invalid" in text:
        return TOKEN_INVALID
    return code
