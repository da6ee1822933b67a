"""Lazada Open Platform connector."""
