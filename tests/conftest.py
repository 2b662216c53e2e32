"""Shared fixtures: the backends every op test runs on.

`backend` runs a test once per backend:
- 'numpy';
- 'cupy', skipped with the reason "no GPU" where CuPy or a GPU is missing;
- 'fake', a CPU stand-in for CuPy registered through the same seam CuPy uses. Its arrays are a
  subclass of numpy.ndarray, so they are a *different array type* from NumPy's: mixing them in
  one op, converting with .to()/.numpy(), and gradients crossing backends all run in CI without
  a GPU.
"""

import numpy as np
import pytest

import tinygrad_rnn
from tinygrad_rnn.backend import register_backend


class FakeArray(np.ndarray):
    """A NumPy array under another type, standing in for cupy.ndarray, and as strict as CuPy.

    - CuPy never hands back a scalar: reductions and full indexing give 0-d arrays. NumPy does
      give scalars (np.float64), which would quietly fall back to the 'numpy' backend, so this
      type keeps every result an array of its own kind, as CuPy does.
    - CuPy refuses a numpy.ndarray operand in its ufuncs and functions (TypeError "Unsupported
      type"): a GPU array is never combined with a host array behind the user's back. This type
      refuses them too, so code that mixes the two fails in CI and not first on a GPU.
      Python and NumPy scalars are accepted, as CuPy accepts them; lists are refused, as CuPy's
      ufuncs refuse them.
    - One thing it cannot copy: np.asarray(fake) quietly gives a host array (NumPy never asks an
      ndarray subclass), where CuPy raises TypeError. Code must use the backend's to_numpy.
    """

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        # ufunc.at(a, index, values): the index may be a host array; CuPy's indexing (and its
        # scatter_add) copies NumPy index arrays to the device itself.
        operands = inputs[:1] + inputs[2:] if method == "at" else inputs
        for x in operands:
            if isinstance(x, (list, tuple)):
                raise TypeError(f"fake backend ({ufunc.__name__}): Unsupported type {type(x)} (as in CuPy)")
        _refuse_host_arrays(ufunc.__name__, operands + (out or ()))
        inputs = tuple(_to_host(x) for x in inputs)
        if out is not None:
            kwargs["out"] = tuple(_to_host(x) for x in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_fake(result)

    def __array_function__(self, func, types, args, kwargs):
        _refuse_host_arrays(func.__name__, args, kwargs)
        return _to_fake(func(*_to_host(args), **_to_host(kwargs)))

    def __getitem__(self, index):
        out = super().__getitem__(index)
        if isinstance(out, FakeArray):
            return out
        return np.asarray(out).view(FakeArray)


def _refuse_host_arrays(name, *groups):
    """Raise as CuPy does when a numpy.ndarray meets a device array in one function."""
    stack = list(groups)
    while stack:
        item = stack.pop()
        if type(item) is np.ndarray:
            raise TypeError(f"fake backend ({name}): Unsupported type {type(item)} (CuPy refuses host arrays)")
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _to_host(value):
    """FakeArrays seen as plain NumPy arrays (inside containers too), to run NumPy's own code."""
    if isinstance(value, FakeArray):
        return value.view(np.ndarray)
    if isinstance(value, tuple):
        return tuple(_to_host(v) for v in value)
    if isinstance(value, list):
        return [_to_host(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_host(v) for k, v in value.items()}
    return value


def _to_fake(result):
    if type(result) is np.ndarray or isinstance(result, np.generic):
        return np.asarray(result).view(FakeArray)
    if isinstance(result, tuple):
        return tuple(_to_fake(r) for r in result)
    if isinstance(result, list):
        return [_to_fake(r) for r in result]
    return result


class _FakeUfunc:
    """A NumPy ufunc that, like CuPy's, refuses host arrays; .at, .reduce, ... pass through."""

    def __init__(self, ufunc):
        self.ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        _refuse_host_arrays(self.__name__, args, kwargs)
        return _to_fake(self.ufunc(*args, **kwargs))

    def __getattr__(self, name):
        return getattr(self.ufunc, name)


class FakeArrayModule:
    """The array module of the fake backend: NumPy's functions and ufuncs, whose array results are
    FakeArrays (as cupy.zeros, cupy.concatenate, ... give cupy arrays), and which refuse host
    arrays as CuPy's do; asarray and array take them, copying to the "device"."""

    __name__ = "fake_numpy"

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc):
            wrapped_ufunc = _FakeUfunc(attr)
            setattr(self, name, wrapped_ufunc)
            return wrapped_ufunc
        if isinstance(attr, type) or not callable(attr):
            return attr

        def wrapped(*args, **kwargs):
            if name not in ("asarray", "array"):  # cupy.asarray/array copy host data to the GPU
                _refuse_host_arrays(name, args, kwargs)
            return _to_fake(attr(*args, **kwargs))

        wrapped.__name__ = name
        setattr(self, name, wrapped)  # look each function up once
        return wrapped


FAKE = register_backend(
    "fake",
    FakeArrayModule(),
    FakeArray,
    from_numpy=lambda a: np.asarray(a).view(FakeArray),
    to_numpy=lambda a: a.view(np.ndarray),
)

CUPY_AVAILABLE = tinygrad_rnn.is_available("cupy")

BACKENDS = ["numpy", "fake", "cupy"]


def skip_without_gpu(name):
    if name == "cupy" and not CUPY_AVAILABLE:
        pytest.skip("no GPU")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of a backend; the test runs once for each (CuPy skips with "no GPU")."""
    skip_without_gpu(request.param)
    return request.param


@pytest.fixture
def rng():
    """A seeded generator: every random test draws the same numbers on every run."""
    return np.random.default_rng(1234)


# ----------------------------------------------------------------------------------------------
# The notebooks (examples/notebooks/), run once per test session in real Jupyter kernels by
# tools/mkdocs_notebooks.py, which keeps the executed copies in build/notebooks/ for the docs build.


def _notebook_tools():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "mkdocs_notebooks.py"
    spec = importlib.util.spec_from_file_location("mkdocs_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def notebook_tools():
    return _notebook_tools()


@pytest.fixture(scope="session")
def executed_notebooks(notebook_tools):
    """{file name: (executed notebook or None, the error or None, seconds)} for every notebook."""
    import time

    runs = {}
    for path in notebook_tools.notebook_paths():
        start = time.perf_counter()
        try:
            nb, error = notebook_tools.execute_and_cache(path), None
        except Exception as exc:  # noqa: BLE001 - each notebook's test reports its own error
            nb, error = None, exc
        runs[path.name] = (nb, error, time.perf_counter() - start)
    return runs
