"""The backend seam: which module an op computes with, crossings between backends, mixing errors,
and the errors for a missing CuPy or GPU.

The 'fake' backend (tests/conftest.py) has its own array type, so everything here that crosses
between backends runs on CPU; the same tests run against CuPy where a GPU is present.
"""

import sys
import types

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import backend as backend_module
from tinygrad_rnn.backend import backend_of, get_array_module, to_backend

from conftest import FAKE, FakeArray, skip_without_gpu

OTHER_BACKENDS = [("numpy", "fake"), ("fake", "numpy"), ("numpy", "cupy"), ("cupy", "numpy")]


@pytest.fixture(params=OTHER_BACKENDS, ids=[f"{a}-{b}" for a, b in OTHER_BACKENDS])
def pair(request):
    """Two different backends (source, target)."""
    for name in request.param:
        skip_without_gpu(name)
    return request.param


# ----------------------------------------------------------------------------------------------
# The seam


def test_array_module_of_each_backend():
    assert get_array_module(np.zeros(2)) is np
    assert get_array_module(np.zeros(2).view(FakeArray)) is FAKE.xp
    assert get_array_module(np.float64(1.0)) is np  # NumPy scalars from 0-d arithmetic
    assert backend_of(np.zeros(2).view(FakeArray)).name == "fake"


def test_unknown_array_type_is_refused():
    with pytest.raises(tg.BackendError, match="list"):
        backend_of([1.0, 2.0])


def test_is_available():
    assert tg.is_available("numpy")
    assert tg.is_available("fake")
    assert not tg.is_available("tpu")


def test_unknown_backend_name():
    with pytest.raises(tg.BackendError, match="unknown backend 'gpu'") as info:
        tg.Tensor([1.0], backend="gpu")
    assert "numpy" in str(info.value) and "cupy" in str(info.value)


def test_op_results_stay_on_the_backend(backend):
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True, backend=backend)
    y = F.cross_entropy((x @ x.T).tanh() + 1.0, np.array([0, 1]))
    assert y.backend == backend
    y.backward()
    assert x.grad.backend == backend
    assert type(x.grad.data) is backend_module.get_backend(backend).array_type


def test_tensor_of_a_backend_array_stays_there(backend):
    array = to_backend(np.arange(3.0), backend)
    t = tg.Tensor(array)
    assert t.backend == backend
    assert type(t.data) is type(array)
    # A copy, as torch.tensor makes: the tensor never aliases the caller's array.
    assert t.data is not array
    np.testing.assert_array_equal(backend_module.get_backend(backend).to_numpy(t.data), np.arange(3.0))


def test_optimizer_step_leaves_the_callers_array_alone():
    from tinygrad_rnn import optim

    w0 = np.ones(3)
    p = tg.Tensor(w0, requires_grad=True)
    (p * p).sum().backward()
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(w0, np.ones(3))
    np.testing.assert_allclose(p.numpy(), np.full(3, 0.8))


def test_tensor_with_explicit_backend_converts(pair):
    source, target = pair
    array = to_backend(np.arange(3.0), source)
    t = tg.Tensor(array, backend=target)
    assert t.backend == target
    assert type(t.data) is backend_module.get_backend(target).array_type
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])


def test_python_scalars_and_numpy_arrays_join_the_tensors_backend(backend):
    x = tg.Tensor(np.ones(3), backend=backend)
    for y in (x + 1.0, 2.0 * x, 1 - x, x / 2, np.ones(3) * x, x - np.zeros(3)):
        assert y.backend == backend


# ----------------------------------------------------------------------------------------------
# Crossings with .to(), .numpy()


def test_to_moves_data_and_gradients_flow_back(pair):
    source, target = pair
    x = tg.Tensor(np.array([[0.5, -1.0], [2.0, 0.0]]), requires_grad=True, backend=source)
    y = x.to(target)
    assert y.backend == target and x.backend == source
    assert y.grad_fn.name == "to"
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    (y.tanh() * 2.0).sum().backward()
    assert x.grad.backend == source
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh(x.numpy()) ** 2))


def test_to_the_same_backend_is_the_tensor_itself(backend):
    x = tg.Tensor(np.ones(2), backend=backend)
    assert x.to(backend) is x


def test_round_trip_keeps_dtype(pair):
    source, target = pair
    for dtype in (np.float32, np.float64, np.int64):
        x = tg.Tensor(np.arange(4).astype(dtype), backend=source)
        back = x.to(target).to(source)
        assert back.dtype == dtype and back.backend == source
        np.testing.assert_array_equal(back.numpy(), np.arange(4))


def test_numpy_copies_off_the_backend(backend):
    x = tg.Tensor(np.arange(3.0), backend=backend)
    out = x.numpy()
    assert type(out) is np.ndarray


def test_gradient_flows_across_a_mixed_graph(backend):
    """Part of the work on one backend, part on another, joined explicitly with .to()."""
    other = "fake" if backend == "numpy" else "numpy"
    w = tg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, backend=backend)
    x = tg.Tensor(np.array([0.5, -0.5]), requires_grad=True, backend=other)
    h = (x.to(backend) @ w).tanh()
    loss = (h.to(other) * x).sum()
    assert tg.gradcheck(lambda x, w: ((x.to(backend) @ w).tanh().to(other) * x).sum(), [x, w])
    loss.backward()
    assert x.grad.backend == other and w.grad.backend == backend


# ----------------------------------------------------------------------------------------------
# Mixing backends without .to() is an error


def test_mixing_backends_in_one_op_names_the_op_and_both_backends(pair):
    source, target = pair
    a = tg.Tensor(np.ones((2, 3)), backend=source)
    b = tg.Tensor(np.ones((2, 3)), backend=target)
    for op, combine in [("add", lambda: a + b), ("mul", lambda: b * a), ("matmul", lambda: a @ b.T),
                        ("cat", lambda: tg.cat([a, b])), ("mse_loss", lambda: F.mse_loss(a, b))]:
        with pytest.raises(tg.BackendError) as info:
            combine()
        message = str(info.value)
        assert message.startswith(op + ":"), message
        assert source in message and target in message and "(2, 3)" in message


def test_backward_with_a_gradient_on_another_backend(pair):
    source, target = pair
    y = tg.Tensor(np.ones(2), requires_grad=True, backend=source) * 2.0
    with pytest.raises(tg.BackendError, match=f"'{target}'.*'{source}'"):
        y.backward(tg.Tensor(np.ones(2), backend=target))


def test_backward_with_a_raw_numpy_gradient_is_moved_to_the_backend(backend):
    x = tg.Tensor(np.ones(2), requires_grad=True, backend=backend)
    (x * 3.0).backward(np.array([1.0, 2.0]))
    assert x.grad.backend == backend
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])


# ----------------------------------------------------------------------------------------------
# CuPy missing, or no GPU


@pytest.fixture
def without_cupy_loaded(monkeypatch):
    """Forget a CuPy backend that an earlier test (on a GPU machine) may have registered."""
    registry = dict(backend_module._registry)
    registry.pop("cupy", None)
    monkeypatch.setattr(backend_module, "_registry", registry)
    return monkeypatch


def test_cupy_not_installed(without_cupy_loaded):
    without_cupy_loaded.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    with pytest.raises(tg.BackendError, match="CuPy is not installed"):
        tg.Tensor([1.0], backend="cupy")
    with pytest.raises(tg.BackendError, match="CuPy is not installed"):
        tg.set_backend("cupy")
    assert tg.default_backend() == "numpy"
    with pytest.raises(tg.BackendError, match="CuPy is not installed"):
        tg.Tensor([1.0]).to("cupy")
    assert not tg.is_available("cupy")


def _cupy_with_devices(count_or_error):
    def get_device_count():
        if isinstance(count_or_error, Exception):
            raise count_or_error
        return count_or_error

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime), ndarray=type("ndarray", (), {}))


def test_cupy_installed_but_no_gpu_present(without_cupy_loaded):
    without_cupy_loaded.setitem(sys.modules, "cupy", _cupy_with_devices(0))
    with pytest.raises(tg.BackendError, match="no CUDA GPU is present"):
        tg.Tensor([1.0], backend="cupy")
    assert not tg.is_available("cupy")


def test_cupy_installed_but_cuda_driver_broken(without_cupy_loaded):
    error = RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    without_cupy_loaded.setitem(sys.modules, "cupy", _cupy_with_devices(error))
    with pytest.raises(tg.BackendError, match="no CUDA GPU is usable.*InsufficientDriver"):
        tg.set_backend("cupy")
    assert tg.default_backend() == "numpy"


def test_cupy_backend_on_a_gpu():
    skip_without_gpu("cupy")
    x = tg.Tensor(np.arange(4.0), requires_grad=True, backend="cupy")
    assert type(x.data).__module__.startswith("cupy")
    y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(4.0))
    with tg.set_backend("cupy"):
        assert tg.Tensor([1.0]).backend == "cupy"
