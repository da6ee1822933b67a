"""The sync handlers (product, inventory, price, order, shop). They register into REGISTRY; until they land the
registry is empty and `nfsync worker` refuses to start without `--handlers`."""

from workers.engine.handlers import HandlerRegistry

REGISTRY = HandlerRegistry()
