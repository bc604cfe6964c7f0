"""Inventory reports from Microservice B ("The Gizmo"): stock levels, owners, low-stock alerts."""

from __future__ import annotations

from collections import Counter

from acme.gizmo import GizmoClient, Reservation, Widget


def stock_by_owner(client: GizmoClient) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for widget in client.iter_widgets():
        totals[widget.owner] += widget.stock
    return dict(totals)


def low_stock(client: GizmoClient, owner: str, threshold: int = 5) -> list[str]:
    return [w.widget_id for w in client.list_widgets(owner=owner) if w.stock < threshold]


def describe(widget: Widget) -> str:
    return f"{widget.widget_id} ({widget.owner}): {widget.stock} in stock"


def hold_and_release(client: GizmoClient, widget_id: str) -> Reservation:
    with client:
        reservation = client.reserve(widget_id, 1)
        client.release(reservation)
    return reservation
