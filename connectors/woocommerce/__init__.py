"""WooCommerce REST API v3 connector."""
