"""The GraphQL Admin API operations nfsync sends to Shopify, shared by the client and the sandbox: the documents, the
API version, the page sizes and each operation's requested cost under the cost rule of docs/platforms/shopify.md
("What the client should send"): an object field 1, a connection 2 + first x node cost, a mutation 10 (the rule is
UNCONFIRMED there: the client plans with these figures and then believes ``extensions.cost``; the sandbox charges
exactly these). Sources: tests/contracts/shopify.json.
"""

from __future__ import annotations

from dataclasses import dataclass

API_VERSION = "2026-04"  # inventorySetQuantities takes changeFromQuantity from this version (docs/platforms/shopify.md)
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
SHOP_DOMAIN_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$"  # the stricter reading (UNCONFIRMED: "_")
MAX_QUERY_COST = 1000
MAX_INPUT_ITEMS = 250  # input arrays (quantities, variants) per call

PRODUCTS_PAGE = 10
PRODUCT_VARIANTS_PAGE = 20  # a product with more is completed by VARIANTS (query product_id:...)
VARIANTS_PAGE = 100
ORDERS_PAGE = 5
ORDER_LINES_PAGE = 30
MORE_LINES_PAGE = 100  # an order's lines after the first ORDER_LINES_PAGE (ORDER_LINES)
LOCATIONS_PAGE = 50
WEBHOOKS_PAGE = 50


@dataclass(frozen=True)
class Operation:
    name: str  # the operationName sent, and the sandbox's dispatch key
    document: str
    cost: int  # requested cost under the rule above
    mutation: bool = False


_MONEY = "shopMoney { amount currencyCode }"
# Node costs under the rule: the node 1, each nested object (inventoryItem, product, variant, a MoneyBag and its
# shopMoney, customer) 1, a list of objects (selectedOptions) 1, a connection 2 + first x node, scalars 0.
_VARIANT_NODE = 1 + 1 + 1  # variant, inventoryItem, selectedOptions
_LINE_NODE = 1 + 2 + 1 + 1  # line item, originalUnitPriceSet (MoneyBag + shopMoney), variant, product
_ORDER_NODE = 1 + 3 * 2 + 1 + (2 + ORDER_LINES_PAGE * _LINE_NODE + 1)  # 3 MoneyBags, customer, lineItems + pageInfo

SHOP = Operation("Shop", "query Shop { shop { name currencyCode myshopifyDomain } }", 1)

LOCATIONS = Operation(
    "Locations",
    f"query Locations {{ locations(first: {LOCATIONS_PAGE}) {{ nodes {{ id name isActive }} }} }}",
    2 + LOCATIONS_PAGE * 1,
)

PRODUCTS = Operation(
    "Products",
    "query Products($after: String, $q: String) { "
    f"products(first: {PRODUCTS_PAGE}, after: $after, query: $q) {{ pageInfo {{ hasNextPage endCursor }} "
    "nodes { id title handle status updatedAt "
    f"variants(first: {PRODUCT_VARIANTS_PAGE}) {{ nodes {{ id sku price barcode inventoryQuantity "
    "inventoryItem { id } selectedOptions { name value } } } } } }",
    2 + PRODUCTS_PAGE * (1 + 2 + PRODUCT_VARIANTS_PAGE * _VARIANT_NODE) + 1,
)

VARIANTS = Operation(
    "Variants",
    "query Variants($after: String, $q: String!) { "
    f"productVariants(first: {VARIANTS_PAGE}, after: $after, query: $q) {{ pageInfo {{ hasNextPage endCursor }} "
    "nodes { id sku price barcode inventoryQuantity updatedAt product { id } inventoryItem { id } "
    "selectedOptions { name value } } } }",
    2 + VARIANTS_PAGE * (_VARIANT_NODE + 1) + 1,  # + product
)

SKU_LOOKUP_PAGE = 10  # a SKU names one variant (search may match loosely): a small page keeps the requested cost low
SKU_LOOKUP = Operation(
    "SkuLookup",
    "query SkuLookup($after: String, $q: String!) { "
    f"productVariants(first: {SKU_LOOKUP_PAGE}, after: $after, query: $q) {{ pageInfo {{ hasNextPage endCursor }} "
    "nodes { id sku price barcode inventoryQuantity updatedAt product { id } inventoryItem { id } "
    "selectedOptions { name value } } } }",
    2 + SKU_LOOKUP_PAGE * (_VARIANT_NODE + 1) + 1,
)

ORDERS = Operation(
    "Orders",
    "query Orders($after: String, $q: String!) { "
    f"orders(first: {ORDERS_PAGE}, after: $after, query: $q, sortKey: UPDATED_AT) {{ "
    "pageInfo { hasNextPage endCursor } nodes { id name createdAt updatedAt cancelledAt displayFinancialStatus "
    f"displayFulfillmentStatus currencyCode totalPriceSet {{ {_MONEY} }} subtotalPriceSet {{ {_MONEY} }} "
    f"totalShippingPriceSet {{ {_MONEY} }} customer {{ id email phone firstName lastName }} "
    f"lineItems(first: {ORDER_LINES_PAGE}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id sku quantity name "
    f"originalUnitPriceSet {{ {_MONEY} }} variant {{ id }} product {{ id }} }} }} }} }} }}",
    2 + ORDERS_PAGE * _ORDER_NODE + 1,
)

PRODUCT = Operation(
    "Product",
    "query Product($id: ID!) { product(id: $id) { id title descriptionHtml handle status updatedAt options { name } "
    f"variants(first: {PRODUCT_VARIANTS_PAGE}) {{ nodes {{ id sku price barcode inventoryQuantity "
    "inventoryItem { id } selectedOptions { name value } } } } }",
    1 + 1 + 2 + PRODUCT_VARIANTS_PAGE * _VARIANT_NODE,  # product, options, variants
)

ORDER = Operation(
    "Order",
    "query Order($id: ID!) { order(id: $id) { id name createdAt updatedAt cancelledAt displayFinancialStatus "
    f"displayFulfillmentStatus currencyCode totalPriceSet {{ {_MONEY} }} subtotalPriceSet {{ {_MONEY} }} "
    f"totalShippingPriceSet {{ {_MONEY} }} customer {{ id email phone firstName lastName }} "
    f"lineItems(first: {ORDER_LINES_PAGE}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id sku quantity name "
    f"originalUnitPriceSet {{ {_MONEY} }} variant {{ id }} product {{ id }} }} }} }} }}",
    _ORDER_NODE,
)

ORDER_LINES = Operation(
    "OrderLines",
    "query OrderLines($id: ID!, $after: String) { order(id: $id) { id "
    f"lineItems(first: {MORE_LINES_PAGE}, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id sku "
    f"quantity name originalUnitPriceSet {{ {_MONEY} }} variant {{ id }} product {{ id }} }} }} }} }}",
    1 + 2 + MORE_LINES_PAGE * _LINE_NODE + 1,
)

SET_STOCK = Operation(
    "SetStock",
    "mutation SetStock($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { "
    "inventoryAdjustmentGroup { id } userErrors { field message code } } }",
    10,
    mutation=True,
)

SET_PRICES = Operation(
    "SetPrices",
    "mutation SetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { "
    "productVariantsBulkUpdate(productId: $productId, variants: $variants) { productVariants { id price } "
    "userErrors { field message code } } }",
    10,
    mutation=True,
)

CREATE_PRODUCT = Operation(
    "CreateProduct",
    "mutation CreateProduct($input: ProductSetInput!) { productSet(input: $input, synchronous: true) { "
    "product { id title handle status updatedAt variants(first: 100) { nodes { id sku price barcode inventoryQuantity "
    "inventoryItem { id } selectedOptions { name value } } } } userErrors { field message code } } }",
    10,
    mutation=True,
)

UPDATE_PRODUCT = Operation(
    "UpdateProduct",
    "mutation UpdateProduct($product: ProductUpdateInput!) { productUpdate(product: $product) { "
    "product { id title descriptionHtml updatedAt } userErrors { field message } } }",
    10,
    mutation=True,
)

CREATE_VARIANTS = Operation(
    "CreateVariants",
    "mutation CreateVariants($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { "
    "productVariantsBulkCreate(productId: $productId, variants: $variants) { productVariants { id sku price barcode "
    "inventoryQuantity inventoryItem { id } selectedOptions { name value } } userErrors { field message code } } }",
    10,
    mutation=True,
)

WEBHOOKS = Operation(
    "Webhooks",
    "query Webhooks($after: String) { "
    f"webhookSubscriptions(first: {WEBHOOKS_PAGE}, after: $after) {{ pageInfo {{ hasNextPage endCursor }} "
    "nodes { id topic uri } } }",
    2 + WEBHOOKS_PAGE * 1 + 1,
)

UNSUBSCRIBE = Operation(
    "Unsubscribe",
    "mutation Unsubscribe($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId "
    "userErrors { field message } } }",
    10,
    mutation=True,
)

SUBSCRIBE = Operation(
    "Subscribe",
    "mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { "
    "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id topic uri } "
    "userErrors { field message } } }",
    10,
    mutation=True,
)

BULK_RUN = Operation(
    "Bulk",
    "mutation Bulk($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } "
    "userErrors { field message } } }",
    10,
    mutation=True,
)

BULK_POLL = Operation(
    "BulkPoll",
    "query BulkPoll { currentBulkOperation { id status errorCode objectCount url partialDataUrl } }",
    1,
)

# The query a bulk catalog import runs (its JSONL: products, then their variants with __parentId).
BULK_PRODUCTS_QUERY = (
    "{ products { edges { node { id title handle status updatedAt variants { edges { node { id sku price barcode "
    "inventoryQuantity inventoryItem { id } selectedOptions { name value } } } } } } } }"
)

OPERATIONS = {
    op.name: op
    for op in (
        SHOP,
        LOCATIONS,
        PRODUCTS,
        PRODUCT,
        VARIANTS,
        SKU_LOOKUP,
        ORDERS,
        ORDER,
        ORDER_LINES,
        SET_STOCK,
        SET_PRICES,
        CREATE_PRODUCT,
        UPDATE_PRODUCT,
        CREATE_VARIANTS,
        WEBHOOKS,
        UNSUBSCRIBE,
        SUBSCRIBE,
        BULK_RUN,
        BULK_POLL,
    )
}


def gid(kind: str, number: int | str) -> str:
    """A Shopify global id, e.g. ``gid://shopify/Product/123``."""
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: str) -> str:
    """The trailing number of a global id (what a webhook's numeric ``id`` holds)."""
    return value.rsplit("/", 1)[-1]


def _check_costs() -> None:
    over = [op.name for op in OPERATIONS.values() if op.cost > MAX_QUERY_COST]
    if over:
        raise AssertionError(f"operations over Shopify's single-query maximum of {MAX_QUERY_COST}: {over}")


_check_costs()
