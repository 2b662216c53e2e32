"""The hand-written BPTT of examples/hand_bptt.py (the benchmark's yardstick) against the layers:
two independent derivations of the same gradients must agree in float64. This also guards the
benchmark: a yardstick that computed something else would make its ratios meaningless."""

import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from hand_bptt import HandGRU, HandLSTM  # noqa: E402


@pytest.mark.parametrize("layer_class, hand_class", [(nn.LSTM, HandLSTM), (nn.GRU, HandGRU)])
def test_hand_bptt_matches_the_layer(layer_class, hand_class):
    rng = np.random.default_rng(3)
    T, N, I, H = 6, 3, 4, 5
    layer = layer_class(I, H, dtype="float64")
    x_array = rng.standard_normal((T, N, I))
    upstream = rng.standard_normal((T, N, H))
    x = tg.Tensor(x_array, requires_grad=True)
    out, _ = layer(x)
    out.backward(upstream)

    weights = [p.data.copy() for p in (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)]
    hand = hand_class(*weights)
    np.testing.assert_allclose(hand.forward(x_array.copy()), out.data, rtol=1e-12, atol=1e-12)
    grads = hand.backward(upstream)
    expected = {"dx": x, "dw_ih": layer.weight_ih_l0, "dw_hh": layer.weight_hh_l0,
                "db_ih": layer.bias_ih_l0, "db_hh": layer.bias_hh_l0}
    for key, tensor in expected.items():
        np.testing.assert_allclose(grads[key], tensor.grad.data, rtol=1e-10, atol=1e-12, err_msg=key)
