"""The HTTP service: webhooks, the enqueue and integration APIs, ops monitoring."""
