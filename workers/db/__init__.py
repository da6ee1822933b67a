"""PostgreSQL access: connections with deadlines, the named-query registry, schema management."""
