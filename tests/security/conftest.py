"""The hostile suite reuses the live API of tests/api (two organizations, their tokens and shops)."""

from tests.api.conftest import live_api

__all__ = ["live_api"]
