"""The sync handlers, registered for the seed's task types. ``nfsync worker`` loads ``workers.sync:REGISTRY``;
each worker process opens the shared resources (limiter, clients, keyring) once."""

from nfsync.workers.engine.handlers import HandlerRegistry
from nfsync.workers.sync.customers import customer_sync
from nfsync.workers.sync.orders import order_sync
from nfsync.workers.sync.products import product_sync
from nfsync.workers.sync.session import open_resources
from nfsync.workers.sync.shops import shop_sync
from nfsync.workers.sync.stock import inventory_sync, price_sync

REGISTRY = HandlerRegistry(resources=open_resources)
REGISTRY.register("product_sync", product_sync)
REGISTRY.register("inventory_sync", inventory_sync)
REGISTRY.register("price_sync", price_sync)
REGISTRY.register("order_sync", order_sync)
REGISTRY.register("shop_sync", shop_sync)


REGISTRY.register("customer_sync", customer_sync)

__all__ = ["REGISTRY"]
