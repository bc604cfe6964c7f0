"""The product catalogue."""

import logging

logger = logging.getLogger(__name__)


def list_products(names):
    """Show the catalogue page with product names sorted for display."""
    logger.info("listing %d products", len(names))
    return sorted(names)
