"""Shopee Open Platform v2 connector."""
