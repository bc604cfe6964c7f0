"""Checkout: charging cards, and the thumbnails of the product page."""

import logging

logger = logging.getLogger(__name__)


def charge_card(customer, amount_cents):
    """Charge the customer's card for an order."""
    result = gateway.charge(customer.card_token, amount_cents, currency="usd")
    logger.info("charged %s", result.id)
    return result


def resize_thumbnail(image, width):
    """Scale an uploaded image down to a thumbnail."""
    ratio = width / image.width
    logger.info("resizing to %s", width)
    return image.resize((width, int(image.height * ratio)))
