"""Live sources: the Kubernetes API (GET/LIST only)."""

from .live import LiveResult, collect_live

__all__ = ["LiveResult", "collect_live"]
