"""Shopify GraphQL Admin API connector (issue #19, in progress: not yet in PLATFORM_PACKAGES)."""
