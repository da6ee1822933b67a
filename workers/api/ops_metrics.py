"""Process-wide Prometheus counters of the API process."""

from prometheus_client import Counter

WEBHOOKS = Counter("nfsync_webhooks_total", "Webhooks received by this API process", ["platform", "result"])
