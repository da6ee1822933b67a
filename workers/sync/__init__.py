"""The sync handlers, registered for the seed's task types. ``nfsync worker`` loads ``workers.sync:REGISTRY``;
each worker process opens the shared resources (limiter, clients, keyring) once."""

from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers.engine.handlers import HandlerRegistry, TaskContext
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


async def customer_sync(ctx: TaskContext) -> dict[str, Any]:
    """The seed names customer_sync but the CRM model nfsync reads has no customers yet: fail clearly instead of
    leaving the task pending forever."""
    raise PermanentError("customer_sync is not supported yet: the CRM has no customer model for nfsync to write")


REGISTRY.register("customer_sync", customer_sync)

__all__ = ["REGISTRY"]
