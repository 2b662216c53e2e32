"""Neural-network building blocks: Module, Parameter, and (as they land) layers, cells and utils."""

from .module import Module
from .parameter import Parameter

__all__ = ["Module", "Parameter"]
