"""A handler registry with nothing in it: the worker must refuse to start with it."""

from nfsync.workers.engine.handlers import HandlerRegistry

REGISTRY = HandlerRegistry()
