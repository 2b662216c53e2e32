"""Released intermediates: at the end of a time step, op results that only the graph refers to and
whose arrays no op saved drop their values (autograd.release_unreferenced); the graph, the
gradients and whatever user code holds stay as they were."""

import os
import sys
import tracemalloc

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.autograd import ReleasedArray
from tinygrad_rnn.errors import GraphError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
from hand_bptt import HandLSTM  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "fixtures"))
from make_layer_gradients import layer_gradients  # noqa: E402


def _lstm_step_tensors():
    """One LSTM step of a layer: (h_t, c_t, the gate pre-activation sum, i_t) found through the graph."""
    layer = nn.LSTM(3, 4)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32))
    out, _ = layer(x)
    h_t = out.grad_fn.inputs[1]  # stack of h_0, h_1
    o_t, squashed = h_t.grad_fn.inputs
    a_o = o_t.grad_fn.inputs[0]  # a split piece of the pre-activation sum
    pre_activation = a_o.grad_fn.inputs[0]
    c_t = squashed.grad_fn.inputs[0]
    fc_t, ig_t = c_t.grad_fn.inputs
    i_t = ig_t.grad_fn.inputs[0]
    return out, h_t, c_t, pre_activation, a_o, fc_t, i_t


def test_unsaved_intermediates_are_released_but_stay_in_the_graph():
    out, h_t, c_t, pre_activation, a_o, fc_t, i_t = _lstm_step_tensors()
    for t in (pre_activation, a_o, fc_t):  # no backward reads them
        assert isinstance(t.data, ReleasedArray), t.name
    assert pre_activation.shape == (5, 16) and pre_activation.dtype == np.float32
    assert a_o.shape == (5, 4) and fc_t.name == "fc_t" and fc_t.step is not None
    with pytest.raises(GraphError, match="values of the intermediate tensor 'fc_t' of shape \\(5, 4\\) float32 were released"):
        fc_t.numpy()
    with pytest.raises(GraphError, match="released"):
        fc_t.data.sum()


def test_keep_values_keeps_every_intermediate_for_tools_that_show_them():
    with tg.keep_values():
        out, h_t, c_t, pre_activation, a_o, fc_t, i_t = _lstm_step_tensors()
        out.backward(np.ones(out.shape, np.float32))  # backward releases nothing either
    for t in (pre_activation, a_o, fc_t):
        assert isinstance(t.data, np.ndarray), t.name
    ig_t = c_t.grad_fn.inputs[1]
    np.testing.assert_array_equal(fc_t.data + ig_t.data, c_t.data)  # the kept values are the real ones
    assert isinstance(_lstm_step_tensors()[3].data, ReleasedArray)  # outside it, the default again


def test_saved_and_held_tensors_keep_their_values():
    out, h_t, c_t, pre_activation, a_o, fc_t, i_t = _lstm_step_tensors()
    for t in (h_t, c_t, i_t):  # saved by a backward (h_t by the next step's matmul, c_t by tanh)
        assert isinstance(t.data, np.ndarray), t.name
    # A tensor user code holds keeps its values, even when no op saved it.
    x, w = tg.Tensor(np.ones((2, 3)), requires_grad=True), tg.Tensor(np.ones((3, 3)), requires_grad=True)
    with tg.time_step(0):
        kept = x @ w
        y = kept + 1  # add saves nothing: kept's array is only the tensor's
        dropped = (x @ w) + 1
        y = y + dropped
    assert isinstance(kept.data, np.ndarray) and kept.numpy()[0, 0] == 3
    assert isinstance(dropped.grad_fn.inputs[0].data, ReleasedArray)
    # A tensor with retain_grad keeps its values too (graphs with gradients read them).
    with tg.time_step(1):
        z = (x @ w)
        z.retain_grad()
        z = z + 1
    assert isinstance(z.grad_fn.inputs[0].data, np.ndarray)


def test_a_layer_call_releases_its_input_projection_as_it_ends():
    layer = nn.LSTM(3, 4)
    x = tg.Tensor(np.random.default_rng(1).standard_normal((6, 2, 3)).astype(np.float32), requires_grad=True)
    out, _ = layer(x)
    h_0 = out.grad_fn.inputs[0]  # stack of h_0 .. h_5
    pre_activation = h_0.grad_fn.inputs[0].grad_fn.inputs[0].grad_fn.inputs[0]  # o_t <- a_o <- split <- sum
    x_t, _ = pre_activation.grad_fn.inputs  # x_proj[0] + h @ W_hh^T
    projection = x_t.grad_fn.inputs[0]  # x W_ih^T + b for all steps, split into x_proj[t]
    assert x_t.grad_fn.step is None and projection.grad_fn.step is None  # made outside the steps
    assert isinstance(x_t.data, ReleasedArray) and isinstance(projection.data, ReleasedArray)
    assert projection.shape == (12, 16)  # the graph still knows its shape
    out.backward(np.ones(out.shape, dtype=np.float32))  # nothing backward needs was released
    assert x.grad is not None


def test_nothing_is_released_in_anomaly_mode():
    with tg.detect_anomaly():
        out, h_t, c_t, pre_activation, a_o, fc_t, i_t = _lstm_step_tensors()
    assert isinstance(fc_t.data, np.ndarray)


def test_releasing_changes_no_bit_of_any_layer_gradient():
    """The same float64 gradients, bit for bit, with intermediates released (the default) and
    with every value kept (keep_values: the tape as it was before releasing existed)."""
    released = layer_gradients(tg)
    with tg.keep_values():
        kept = layer_gradients(tg)
    assert sorted(released) == sorted(kept)
    for key in kept:
        np.testing.assert_array_equal(released[key], kept[key], err_msg=key)


def test_layer_gradients_match_those_of_main_before_releasing():
    """fixtures/layer_gradients_main.npz holds the float64 gradients of small 2-layer LSTM, GRU
    and RNN layers computed by the main branch before releasing existed (make_layer_gradients.py).
    Another machine's BLAS rounds its matmuls in its own order, so across machines they agree to
    float64 round-off, not bit for bit (the test above checks bits, on this machine)."""
    expected = np.load(os.path.join(HERE, "fixtures", "layer_gradients_main.npz"))
    got = layer_gradients(tg)
    assert sorted(expected.files) == sorted(got)
    for key in expected.files:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-15, err_msg=key)


def _kept_per_step(run, T):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return (tracemalloc.get_traced_memory()[1] - before) / T
    finally:
        tracemalloc.stop()


def test_bptt_keeps_at_most_twice_the_hand_written_memory():
    T, B, I, H = 200, 8, 8, 64
    rng = np.random.default_rng(0)
    layer = nn.LSTM(I, H)
    hand = HandLSTM(*(p.numpy() for p in (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)))
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    G = rng.standard_normal((T, B, H)).astype(np.float32)
    xt = tg.Tensor(x)

    def tg_step():
        out, _ = layer(xt)
        out.backward(G)

    def hand_step():
        hand.forward(x)
        hand.backward(G)

    tg_step(), hand_step()  # warm up (first-call allocations)
    tg_kept, hand_kept = _kept_per_step(tg_step, T), _kept_per_step(hand_step, T)
    assert tg_kept <= 2 * hand_kept, (tg_kept, hand_kept)
