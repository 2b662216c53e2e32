"""Tools for studying gradients: gradcheck (and, with the cells, per-time-step tracing)."""

from .gradcheck import gradcheck

__all__ = ["gradcheck"]
