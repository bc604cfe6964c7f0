"""A small shop: users, orders and billing."""
