"""A handler registry with nothing in it: the worker must refuse to start with it."""

from workers.engine.handlers import HandlerRegistry

REGISTRY = HandlerRegistry()
