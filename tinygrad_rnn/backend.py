"""The backend seam: the one place that knows about NumPy and CuPy.

An op never imports an array library itself. It asks `get_array_module(array)` for the module
(`numpy` or `cupy`) that owns its inputs and calls `xp.tanh`, `xp.exp`, ... on it, so each op is
written once for both backends.
"""

import numpy as np

from .errors import BackendError


class Backend:
    """An array library: its module, its array type, and how arrays cross to and from NumPy."""

    def __init__(self, name, xp, array_type, from_numpy, to_numpy):
        self.name = name
        self.xp = xp
        self.array_type = array_type
        self.from_numpy = from_numpy
        self.to_numpy = to_numpy

    def __repr__(self):
        return f"Backend({self.name!r})"


_NUMPY = Backend("numpy", np, np.ndarray, lambda a: a, lambda a: a)
_registry = {"numpy": _NUMPY}  # name -> Backend
# array type -> Backend, for the per-op lookup. NumPy arithmetic on 0-d arrays gives NumPy scalars
# (np.float64), which an op's backward may pass on: they belong to NumPy too.
_by_type = {np.ndarray: _NUMPY, np.generic: _NUMPY}
_default = ["numpy"]


def register_backend(name, xp, array_type, from_numpy, to_numpy):
    """Make another array library available as a backend (CuPy registers itself on first use)."""
    backend = Backend(name, xp, array_type, from_numpy, to_numpy)
    _registry[name] = backend
    _by_type[array_type] = backend
    return backend


def _load_cupy():
    try:
        import cupy
    except ImportError as exc:
        raise BackendError(
            "backend 'cupy' was requested but CuPy is not installed; "
            "install it with `pip install -e '.[cuda]'` in a checkout of tinygrad_rnn, or `pip install "
            "cupy-cuda12x` (the wheel for CUDA 12; needs an NVIDIA GPU)"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken: cupy raises its own runtime errors
        raise BackendError(
            f"backend 'cupy' was requested; CuPy is installed but no CUDA GPU is usable ({exc})"
        ) from exc
    if count == 0:
        raise BackendError("backend 'cupy' was requested; CuPy is installed but no CUDA GPU is present")
    return register_backend("cupy", cupy, cupy.ndarray, cupy.asarray, cupy.asnumpy)


_ALIASES = {"cpu": "numpy", "cuda": "cupy"}  # what PyTorch users type


def get_backend(name):
    """The Backend called `name` ('numpy' or 'cupy'; 'cpu' and 'cuda' also work), loading CuPy
    on first use."""
    name = _ALIASES.get(name, name)
    if name in _registry:
        return _registry[name]
    if name == "cupy":
        return _load_cupy()
    raise BackendError(f"unknown backend {name!r}; choose one of {sorted(set(_registry) | {'cupy'})}")


def is_available(name):
    """True when backend `name` can be used on this machine (for 'cupy': CuPy and a GPU)."""
    try:
        get_backend(name)
    except BackendError:
        return False
    return True


def backend_of(array):
    """The Backend that owns `array`."""
    backend = _by_type.get(type(array))
    if backend is None:
        for array_type, candidate in _by_type.items():
            if isinstance(array, array_type):
                return candidate
        if hasattr(type(array), "error"):  # a released intermediate (autograd.ReleasedArray)
            raise array.error()
        raise BackendError(f"no backend holds arrays of type {type(array).__name__}")
    return backend


def get_array_module(array):
    """The module (numpy or cupy) whose functions apply to `array`."""
    if type(array) is np.ndarray:  # the hot path, kept free of dictionary lookups
        return np
    return backend_of(array).xp


def to_backend(array, name):
    """`array` moved to backend `name` (no copy when it is already there)."""
    target = get_backend(name)
    source = backend_of(array)
    if source is target:
        return array
    return target.from_numpy(source.to_numpy(array))


def default_backend():
    """The name of the backend that new tensors go to when none is given."""
    return _default[0]


class set_backend:
    """Choose the default backend for new tensors: `set_backend('cupy')`, or as a context manager
    `with set_backend('cupy'): ...`, which restores the previous default on exit."""

    def __init__(self, name):
        get_backend(name)  # fail now, with the reason, rather than at the first tensor
        self.previous = _default[0]
        _default[0] = name

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _default[0] = self.previous
        return False


def scatter_add(target, index, values):
    """target[index] += values, adding repeated indices up (the backward of fancy indexing)."""
    backend = backend_of(target)
    if backend.name == "cupy":
        import cupyx  # older CuPy ufuncs have no .at; cupyx.scatter_add is its equivalent

        cupyx.scatter_add(target, index, values)
    else:
        backend.xp.add.at(target, index, values)
