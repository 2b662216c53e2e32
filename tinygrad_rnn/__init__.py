"""tinygrad_rnn: a small reverse-mode autodiff framework for seeing how gradients move through
recurrent networks.

    import tinygrad_rnn as tg
    x = tg.Tensor([[0.5, -1.0]], requires_grad=True)
    y = (x * 2).tanh().sum()
    y.backward()
    x.grad
"""

from .allocator import reuse_freed_memory
from .autograd import (current_time_step, detect_anomaly, is_anomaly_enabled, is_grad_enabled, keep_values,
                       no_grad, set_detect_anomaly, time_step)
from .backend import default_backend, get_array_module, is_available, set_backend
from .errors import AnomalyError, BackendError, DTypeError, GradcheckError, GraphError, IndexingError, ShapeError
from .functional import cat, maximum, minimum, stack, where
from .gradients.gradcheck import gradcheck
from .tensor import Tensor
from .nn.serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "cat",
    "stack",
    "maximum",
    "minimum",
    "where",
    "no_grad",
    "time_step",
    "current_time_step",
    "is_grad_enabled",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "set_backend",
    "default_backend",
    "is_available",
    "get_array_module",
    "gradcheck",
    "ShapeError",
    "IndexingError",
    "DTypeError",
    "BackendError",
    "GraphError",
    "GradcheckError",
    "AnomalyError",
    "save",
    "load",
    "reuse_freed_memory",
]
