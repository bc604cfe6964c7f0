"""Client for Microservice B, the inventory service everyone at ACME calls "The Gizmo"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Transport = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class GizmoError(Exception):
    """Microservice B refused a request."""


@dataclass(frozen=True)
class Widget:
    widget_id: str
    owner: str
    stock: int
    price_cents: int


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    widget_id: str
    quantity: int


@dataclass
class InMemoryTransport:
    """A stand-in for Microservice B's HTTP API, for tests and demos."""

    widgets: dict[str, Widget] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)

    def __call__(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["widgets"]:
            owner = body.get("owner")
            found = [w for w in self.widgets.values() if owner is None or w.owner == owner]
            return {"widgets": [w.__dict__ for w in sorted(found, key=lambda w: w.widget_id)]}
        if method == "GET" and len(parts) == 2 and parts[0] == "widgets":
            widget = self.widgets.get(parts[1])
            if widget is None:
                raise GizmoError(f"no widget {parts[1]}")
            return dict(widget.__dict__)
        if method == "POST" and parts == ["reservations"]:
            widget = self.widgets[body["widget_id"]]
            if widget.stock < body["quantity"]:
                raise GizmoError(f"widget {widget.widget_id}: only {widget.stock} in stock")
            rid = f"r{len(self.reservations) + 1}"
            self.reservations[rid] = Reservation(rid, widget.widget_id, body["quantity"])
            self.widgets[widget.widget_id] = Widget(
                widget.widget_id, widget.owner, widget.stock - body["quantity"], widget.price_cents
            )
            return {"reservation_id": rid, "widget_id": widget.widget_id, "quantity": body["quantity"]}
        if method == "DELETE" and len(parts) == 2 and parts[0] == "reservations":
            reservation = self.reservations.pop(parts[1])
            widget = self.widgets[reservation.widget_id]
            self.widgets[widget.widget_id] = Widget(
                widget.widget_id, widget.owner, widget.stock + reservation.quantity, widget.price_cents
            )
            return {}
        raise GizmoError(f"{method} {path}: not found")


class GizmoClient:
    """Talks to Microservice B ("The Gizmo"): widgets, stock and reservations."""

    def __init__(self, base_url: str, *, transport: Transport | None = None, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._transport = transport if transport is not None else InMemoryTransport()
        self.closed = False

    def __enter__(self) -> GizmoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.closed:
            raise GizmoError("client is closed")
        return self._transport(method, path, body or {})

    def fetch_widget(self, widget_id: str) -> Widget:
        """One widget by id."""
        return Widget(**self._call("GET", f"/widgets/{widget_id}"))

    def list_widgets(self, *, owner: str | None = None) -> list[Widget]:
        """Every widget, or those of one owner."""
        return [Widget(**w) for w in self._call("GET", "/widgets", {"owner": owner})["widgets"]]

    def iter_widgets(self, *, owner: str | None = None) -> Iterator[Widget]:
        yield from self.list_widgets(owner=owner)

    def reserve(self, widget_id: str, quantity: int = 1) -> Reservation:
        """Hold stock of a widget until the reservation is released or fulfilled."""
        raw = self._call("POST", "/reservations", {"widget_id": widget_id, "quantity": quantity})
        return Reservation(**raw)

    def release(self, reservation: Reservation) -> None:
        """Give reserved stock back."""
        self._call("DELETE", f"/reservations/{reservation.reservation_id}")

    def close(self) -> None:
        self.closed = True
