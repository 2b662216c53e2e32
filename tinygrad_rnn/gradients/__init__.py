"""Tools for studying gradients: gradcheck (and, with the cells, per-time-step tracing)."""

from .gradcheck import gradcheck
from .trace import GradientTrace, trace_gradients

__all__ = ["gradcheck", "trace_gradients", "GradientTrace"]
