"""ACME Corp's internal library: compliance audit logging and the Gizmo (Microservice B) client."""

from acme.audit import AuditEntry, AuditLogger
from acme.gizmo import GizmoClient, GizmoError, InMemoryTransport, Reservation, Widget

__version__ = "0.1.0"

__all__ = [
    "AuditEntry",
    "AuditLogger",
    "GizmoClient",
    "GizmoError",
    "InMemoryTransport",
    "Reservation",
    "Widget",
]
