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
    """A NumPy array under another type, standing in for cupy.ndarray.

    CuPy never hands back a scalar: reductions and full indexing give 0-d arrays. NumPy does
    give scalars (np.float64), which would quietly fall back to the 'numpy' backend, so this
    type keeps every result an array of its own kind, as CuPy does.
    """

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        return np.asarray(obj).view(FakeArray)

    def __getitem__(self, index):
        out = super().__getitem__(index)
        if isinstance(out, FakeArray):
            return out
        return np.asarray(out).view(FakeArray)


def _to_fake(result):
    if type(result) is np.ndarray or isinstance(result, np.generic):
        return np.asarray(result).view(FakeArray)
    if isinstance(result, tuple):
        return tuple(_to_fake(r) for r in result)
    if isinstance(result, list):
        return [_to_fake(r) for r in result]
    return result


class FakeArrayModule:
    """The array module of the fake backend: NumPy's functions, whose array results are FakeArrays
    (as cupy.zeros, cupy.concatenate, ... give cupy arrays). Ufuncs pass through unchanged: they
    keep the FakeArray type of their inputs by themselves (FakeArray.__array_wrap__)."""

    __name__ = "fake_numpy"

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, (np.ufunc, type)) or not callable(attr):
            return attr

        def wrapped(*args, **kwargs):
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
