"""The task engine: enqueue, wake-ups over RabbitMQ, claims under leases, outcomes, the scheduler."""
