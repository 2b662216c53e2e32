"""Whole models on every non-NumPy backend give NumPy's numbers.

The op tests run each op on each backend; these run what users run on a GPU (every cell kind in a
layer, a training loop with TBPTT, cross-entropy against host targets, clipping and Adam) and
compare every output and gradient with the same model on NumPy. On CI they run on the 'fake'
backend, which refuses host arrays as CuPy does; on a machine with a GPU, on CuPy too.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.backend import to_backend

from conftest import skip_without_gpu

DEVICE_BACKENDS = ["fake", "cupy"]
T, N, I, H = 4, 3, 5, 6


@pytest.fixture(params=DEVICE_BACKENDS)
def device(request):
    skip_without_gpu(request.param)
    return request.param


def _twin(build, backend):
    """Two copies of one model with the same weights: one on NumPy, one on `backend`."""
    reference = build()
    other = build()
    other.load_state_dict(reference.state_dict())
    return reference, other.to(backend)


def _assert_same(ours, reference, what):
    ours = ours.numpy() if isinstance(ours, tg.Tensor) else ours
    reference = reference.numpy() if isinstance(reference, tg.Tensor) else reference
    assert type(ours) is np.ndarray, what
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("kind", nn.CELL_KINDS)
def test_every_cell_kind_in_a_layer_matches_numpy(device, kind, rng):
    reference, model = _twin(lambda: nn.make_layer(kind, I, H, num_layers=2, bidirectional=True).double(), device)
    x_host = rng.standard_normal((T, N, I))
    upstream = rng.standard_normal((T, N, 2 * H))  # a random dL/dout, so every element counts

    results = {}
    for name, layer in (("numpy", reference), (device, model)):
        x = tg.Tensor(x_host, requires_grad=True, backend=name)
        out, state = layer(x)
        assert out.backend == name
        (out * tg.Tensor(upstream, backend=name)).sum().backward()
        h_n = state[0] if isinstance(state, tuple) else state
        grads = {key: p.grad for key, p in layer.named_parameters()}
        results[name] = (out, h_n, x.grad, grads)

    out, h_n, x_grad, grads = results[device]
    ref_out, ref_h_n, ref_x_grad, ref_grads = results["numpy"]
    _assert_same(out, ref_out, "output")
    _assert_same(h_n, ref_h_n, "h_n")
    _assert_same(x_grad, ref_x_grad, "dL/dx")
    assert grads.keys() == ref_grads.keys()
    for key in grads:
        assert grads[key].backend == device, key
        _assert_same(grads[key], ref_grads[key], f"dL/d{key}")


def test_training_with_tbptt_clipping_and_adam_matches_numpy(device, rng):
    """Cross-entropy against integer targets kept on the host, TBPTT chunks, clipping and Adam."""
    classes = 4
    inputs = rng.standard_normal((12, N, I))
    targets = rng.integers(0, classes, size=(12, N))  # a NumPy int array, wherever the model is

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(I, H, forget_bias=1.0)
            self.head = nn.Linear(H, classes)

        def forward(self, x, state=None):
            out, state = self.lstm(x, state)
            return self.head(out), state

    def loss_fn(logits, y):
        return F.cross_entropy(logits.reshape(-1, classes), y.reshape(-1))

    runs = {}
    for name, model in zip(("numpy", device), _twin(lambda: Model().double(), device)):
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        losses, state = nn.train_tbptt(
            model, tg.Tensor(inputs, backend=name), targets, loss_fn, optimizer, k=5, clip_norm=0.5
        )
        assert state[0].backend == name
        runs[name] = (losses, model.state_dict(), state)

    losses, weights, state = runs[device]
    ref_losses, ref_weights, ref_state = runs["numpy"]
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    for key in ref_weights:
        _assert_same(to_backend(weights[key], "numpy"), ref_weights[key], key)
    _assert_same(state[1], ref_state[1], "c_n")


def test_mse_and_every_optimizer_step_matches_numpy(device, rng):
    x_host = rng.standard_normal((T, N, I))
    y_host = rng.standard_normal((T, N, H))
    for make_optimizer in (
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adam(p, lr=0.01),
        lambda p: optim.Adagrad(p, lr=0.1),
        lambda p: optim.RMSprop(p, lr=0.01),
    ):
        finals = {}
        for name, layer in zip(("numpy", device), _twin(lambda: nn.GRU(I, H).double(), device)):
            optimizer = make_optimizer(layer.parameters())
            for _ in range(3):
                optimizer.zero_grad()
                out, _ = layer(tg.Tensor(x_host, backend=name))
                F.mse_loss(out, y_host).backward()
                nn.utils.clip_grad_value_(layer.parameters(), 0.05)
                optimizer.step()
            finals[name] = layer.state_dict()
        for key in finals["numpy"]:
            _assert_same(to_backend(finals[device][key], "numpy"), finals["numpy"][key], key)


@pytest.mark.parametrize("name", DEVICE_BACKENDS)
def test_device_arrays_refuse_host_arrays(name):
    """What the fake backend assumes of CuPy, checked on CuPy itself where a GPU is present:
    a host array (or a list) in a device ufunc or function is an error, while scalars, host index
    arrays (indexing, scatter-add) and asarray's explicit copy are accepted. Results are device
    arrays, never NumPy scalars."""
    skip_without_gpu(name)
    from tinygrad_rnn.backend import get_backend, scatter_add

    backend = get_backend(name)
    a = backend.from_numpy(np.arange(4.0))
    with pytest.raises(TypeError):
        a + np.ones(4)
    with pytest.raises(TypeError):
        backend.xp.concatenate([a, np.ones(4)])
    with pytest.raises(TypeError):
        backend.xp.concatenate([np.ones(4), np.ones(4)])  # host arrays alone, too
    with pytest.raises(TypeError):
        backend.xp.exp(np.ones(4))
    with pytest.raises(TypeError):
        a + [1.0, 2.0, 3.0, 4.0]
    assert type(backend.xp.asarray(np.ones(4))) is backend.array_type  # the explicit copy to the device
    assert type(a * 2.0) is backend.array_type
    assert type(a * np.float64(2.0)) is backend.array_type
    assert type(a.sum()) is backend.array_type
    assert type(a[np.array([0, 2])]) is backend.array_type
    target = backend.xp.zeros(4)
    scatter_add(target, np.array([1, 1, 3]), backend.from_numpy(np.array([1.0, 2.0, 5.0])))
    np.testing.assert_array_equal(backend.to_numpy(target), [0.0, 3.0, 0.0, 5.0])
