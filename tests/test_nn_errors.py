"""Bad input to cells and layers raises an error that names the module, the expected shape and
the actual one, instead of broadcasting into a wrong answer."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import DTypeError, ShapeError, nn

I, H, N, T = 3, 5, 2, 4


def tensor(*shape, dtype=np.float32):
    return tg.Tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_rejects_wrong_input_width(cell_class):
    cell = cell_class(I, H)
    with pytest.raises(ShapeError, match=re.escape(f"input has shape (2, 4), expected (N, {I}) or ({I},)")) as info:
        cell(tensor(N, 4))
    assert cell_class.__name__ in str(info.value)
    with pytest.raises(ShapeError, match=re.escape("input has shape (1, 2, 3)")):
        cell(tensor(1, N, I))  # a sequence given to a cell


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.GRUCell])
def test_cell_rejects_wrong_hidden_shape(cell_class):
    cell = cell_class(I, H)
    with pytest.raises(ShapeError, match=re.escape(f"h has shape ({N}, 4), expected ({N}, {H})")):
        cell(tensor(N, I), tensor(N, 4))
    with pytest.raises(ShapeError, match=re.escape(f"h has shape (3, {H}), expected ({N}, {H})")):
        cell(tensor(N, I), tensor(3, H))  # a batch that does not match the input's
    with pytest.raises(TypeError, match="only a cell that declares several states takes a tuple"):
        cell(tensor(N, I), (tensor(N, H), tensor(N, H)))


def test_lstm_cell_rejects_a_bare_h():
    cell = nn.LSTMCell(I, H)
    with pytest.raises(TypeError, match=re.escape(f"must be a tuple (h, c) of two tensors of shape ({N}, {H}), "
                                                  f"got a single Tensor of shape ({N}, {H})")):
        cell(tensor(N, I), tensor(N, H))
    with pytest.raises(ShapeError, match=re.escape(f"c has shape ({N}, {H + 1}), expected ({N}, {H})")):
        cell(tensor(N, I), (tensor(N, H), tensor(N, H + 1)))
    with pytest.raises(TypeError, match="got 3 items"):
        cell(tensor(N, I), (tensor(N, H), tensor(N, H), tensor(N, H)))


def test_unbatched_cell_wants_an_unbatched_state():
    cell = nn.GRUCell(I, H)
    with pytest.raises(ShapeError, match=re.escape(f"h has shape (1, {H}), expected ({H},)")):
        cell(tensor(I), tensor(1, H))


def test_cell_rejects_mixed_dtypes():
    cell = nn.LSTMCell(I, H)  # float32
    with pytest.raises(DTypeError, match="input is float64 but the parameters are float32"):
        cell(tensor(N, I, dtype=np.float64))
    with pytest.raises(DTypeError, match="h is float64"):
        cell(tensor(N, I), (tensor(N, H, dtype=np.float64), tensor(N, H)))


def test_cell_rejects_non_tensors():
    with pytest.raises(TypeError, match="input must be a Tensor, got list"):
        nn.RNNCell(I, H)([[0.0, 1.0, 2.0]])


@pytest.mark.parametrize("layer_class", [nn.RNN, nn.LSTM, nn.GRU])
def test_layer_rejects_wrong_input_width(layer_class):
    layer = layer_class(I, H)
    with pytest.raises(ShapeError, match=re.escape(f"input has shape ({T}, {N}, 4), expected (T, N, I)")) as info:
        layer(tensor(T, N, 4))
    assert f"input_size = {I}" in str(info.value) and layer_class.__name__ in str(info.value)
    with pytest.raises(ShapeError, match=re.escape("expected (N, T, I)")):
        layer_class(I, H, batch_first=True)(tensor(N, T, 4))
    with pytest.raises(ShapeError, match=re.escape(f"input has shape ({T}, {N}, 1, {I})")):
        layer(tensor(T, N, 1, I))  # 4 axes
    with pytest.raises(ShapeError, match="empty sequence"):
        layer(tensor(0, N, I))


@pytest.mark.parametrize("layer_class", [nn.RNN, nn.GRU])
def test_layer_rejects_wrong_h0_shape(layer_class):
    layer = layer_class(I, H, num_layers=2, bidirectional=True)
    with pytest.raises(ShapeError, match=re.escape(f"h_0 has shape (2, {N}, {H}), expected (4, {N}, {H}) "
                                                   "(num_layers * num_directions, batch, hidden_size)")):
        layer(tensor(T, N, I), tensor(2, N, H))
    with pytest.raises(ShapeError, match=re.escape(f"h_0 has shape (4, {N}, {H}), expected (4, {H})")):
        layer(tensor(T, I), tensor(4, N, H))  # unbatched input, batched state
    with pytest.raises(TypeError, match="h_0 must be one tensor"):
        layer(tensor(T, N, I), (tensor(4, N, H), tensor(4, N, H)))


def test_lstm_layer_rejects_a_bare_h0_and_wrong_c0():
    lstm = nn.LSTM(I, H)
    with pytest.raises(TypeError, match=re.escape(f"must be a tuple (h_0, c_0), got a Tensor of shape (1, {N}, {H})")):
        lstm(tensor(T, N, I), tensor(1, N, H))
    with pytest.raises(ShapeError, match=re.escape(f"c_0 has shape (1, {N}, {H + 1}), expected (1, {N}, {H})")):
        lstm(tensor(T, N, I), (tensor(1, N, H), tensor(1, N, H + 1)))


def test_layer_rejects_mixed_dtypes():
    with pytest.raises(DTypeError, match="input is float64 but the parameters are float32"):
        nn.LSTM(I, H)(tensor(T, N, I, dtype=np.float64))
    with pytest.raises(DTypeError, match="h_0 is float64 but the parameters are float32"):
        nn.GRU(I, H)(tensor(T, N, I), tensor(1, N, H, dtype=np.float64))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.LSTMCell(I, 0)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="num_layers must be a positive integer"):
        nn.GRU(I, H, num_layers=0)
    with pytest.raises(ValueError, match=re.escape("dropout must lie in [0, 1]")):
        nn.LSTM(I, H, dropout=2)


def test_load_state_dict_rejects_wrong_shapes():
    lstm = nn.LSTM(I, H)
    state = dict(lstm.state_dict())
    state["weight_hh_l0"] = np.zeros((4 * H, H + 1), dtype=np.float32)
    with pytest.raises(ShapeError, match=re.escape(f"'weight_hh_l0' has shape ({4 * H}, {H + 1}) in the state")):
        lstm.load_state_dict(state)
