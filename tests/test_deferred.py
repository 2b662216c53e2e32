"""Deferred weight gradients (tinygrad_rnn/deferred.py): matmul hands dL/db = a^T @ g on as its
factors, and the walk multiplies out all the products one tensor gathers in one matmul. The
value is the same sum in another order: float64 results agree to round-off, and finite
differences agree with it in every place a gradient can go (a transposed weight, a leaf, the
pieces of a split weight, hooks, retained gradients, recorded norms, anomaly mode)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.deferred as deferred
from tinygrad_rnn import nn, viz
from tinygrad_rnn.deferred import DeferredProduct, materialized, weight_gradient


@pytest.fixture
def always_deferred(monkeypatch):
    """Every 2-D matmul defers its weight gradient, whatever its size."""
    monkeypatch.setattr(deferred, "MIN_SIZE", 0)


@pytest.fixture
def never_deferred(monkeypatch):
    monkeypatch.setattr(deferred, "MIN_SIZE", 1 << 62)


def _factors(rng, n, rows=3, k=4, m=5):
    return [(rng.standard_normal((rows, k)), rng.standard_normal((rows, m))) for _ in range(n)]


def test_a_deferred_product_is_the_sum_of_its_products():
    rng = np.random.default_rng(0)
    pairs = _factors(rng, 2 * deferred.BLOCK + 3)  # more than two blocks
    dense = rng.standard_normal((4, 5))
    total = DeferredProduct(*pairs[0])
    for k, (a, g) in enumerate(pairs[1:]):
        total.merge(DeferredProduct(a, g))
        if k == 10:
            total.merge(dense)  # a gradient that came as an array
        assert total.shape == (4, 5)
    expected = sum(a.T @ g for a, g in pairs) + dense
    np.testing.assert_allclose(total.value(), expected, rtol=1e-13, atol=1e-13)
    assert total.value() is total.value()  # multiplied out once


def test_merging_never_writes_into_an_array_it_was_given():
    rng = np.random.default_rng(1)
    given = rng.standard_normal((4, 5))
    kept = given.copy()
    total = DeferredProduct(*_factors(rng, 1)[0]).merge(given)
    total.merge(DeferredProduct(*_factors(rng, 1)[0])).merge(given)
    total.value()
    np.testing.assert_array_equal(given, kept)


def test_small_products_are_multiplied_at_once_large_ones_deferred():
    small = weight_gradient(np.ones((2, 8)), np.ones((2, 8)))
    assert type(small) is np.ndarray and small[0, 0] == 2
    k = m = int(np.sqrt(deferred.MIN_SIZE))
    assert type(weight_gradient(np.ones((2, k)), np.ones((2, m)))) is DeferredProduct
    assert materialized(small) is small


def _recurrence(x, w, h0, steps=6):
    """h_t = tanh(x_t + h_{t-1} @ w): w gets one gradient per step."""
    h = h0
    for t in range(steps):
        h = (x[t] + h @ w).tanh()
    return h


def test_gradcheck_of_a_weight_used_at_every_step(always_deferred):
    rng = np.random.default_rng(2)
    x = tg.Tensor(rng.standard_normal((6, 3, 4)), dtype=np.float64, requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
    w = tg.Tensor(rng.standard_normal((4, 4)) * 0.5, dtype=np.float64, requires_grad=True)  # a leaf
    assert tg.gradcheck(_recurrence, (x, w, h0))
    assert tg.gradcheck(lambda x, w, h0: _recurrence(x, w.T, h0), (x, w, h0))  # through a transpose


def test_gradcheck_through_the_pieces_of_a_split_weight(always_deferred):
    rng = np.random.default_rng(3)
    x = tg.Tensor(rng.standard_normal((5, 2, 6)), dtype=np.float64, requires_grad=True)
    w = tg.Tensor(rng.standard_normal((6, 9)) * 0.4, dtype=np.float64, requires_grad=True)

    def two_pieces(x, w):
        w_gates, w_n = w.T.split([6, 3], axis=0)  # (6, 6) and (3, 6): GRU-cho's weights.hh_gates, hh_n
        h = x[0]
        for t in range(5):
            h = (x[t] + (h @ w_gates.T) * (h[:, :3] @ w_n)).tanh()
        return h

    assert tg.gradcheck(two_pieces, (x, w))


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru-cho", "mgu", "rnn", "lstm-fgr", "prototype"])
def test_layer_gradients_deferred_or_not_agree_to_round_off(kind, monkeypatch):
    def gradients():
        rng = np.random.default_rng(4)
        layer = nn.make_layer(kind, 3, 5, num_layers=2, dtype=np.float64)
        for _, p in layer.named_parameters():
            p.data[...] = rng.uniform(-0.5, 0.5, p.shape)
        x = tg.Tensor(rng.standard_normal((40, 2, 3)), dtype=np.float64, requires_grad=True)
        out, _ = layer(x)
        out.backward(rng.standard_normal(out.shape))
        got = {name: p.grad.numpy() for name, p in layer.named_parameters()}
        got["x"] = x.grad.numpy()
        return got

    monkeypatch.setattr(deferred, "MIN_SIZE", 1 << 62)
    at_once = gradients()
    monkeypatch.setattr(deferred, "MIN_SIZE", 0)
    summed_later = gradients()
    for key in at_once:
        np.testing.assert_allclose(summed_later[key], at_once[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_hooks_retained_grads_recorded_norms_and_anomaly_mode_see_arrays(always_deferred):
    rng = np.random.default_rng(5)
    w = tg.Tensor(rng.standard_normal((4, 4)), dtype=np.float64, requires_grad=True)
    x = tg.Tensor(rng.standard_normal((6, 3, 4)), dtype=np.float64)
    h0 = tg.Tensor(np.zeros((3, 4)))
    seen = []
    w_t = w.T
    w_t.retain_grad()
    w_t.register_hook(lambda g: seen.append(type(g.data)))
    loss = _recurrence(x, w_t, h0).sum()
    viz.record_gradients(loss)
    with tg.detect_anomaly():
        loss.backward()
    assert seen == [np.ndarray] and type(w_t.grad.data) is np.ndarray and type(w.grad.data) is np.ndarray
    np.testing.assert_allclose(w.grad.numpy(), w_t.grad.numpy().T)
    norms = w_t.grad_fn.out_grad_norms
    assert norms == [pytest.approx(float(np.linalg.norm(w_t.grad.numpy())))]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_anomaly_mode_finds_an_inf_in_a_deferred_weight_gradient(always_deferred):
    # Forward and dL/da are finite; only dL/dw = a^T @ g = 1e300 * 1e300 overflows.
    a = tg.Tensor(np.array([[1e300]]), dtype=np.float64, requires_grad=True)
    w = tg.Tensor(np.array([[1e-300]]), dtype=np.float64, requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="backward of op 'matmul'.*gradient for input 1"):
        ((a @ w) * 1e300).sum().backward()
