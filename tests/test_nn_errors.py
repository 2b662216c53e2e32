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


# ----------------------------------------------------------------------------------------------
# The rest of issue 10's catalogue: sizes, dtypes, non-tensors, state tuples, state_dict values


@pytest.mark.parametrize("make,owner", [
    (lambda v: nn.Linear(v, 3), "Linear"), (lambda v: nn.Linear(3, v), "Linear"),
    (lambda v: nn.LSTM(v, 3), "LSTM"), (lambda v: nn.GRU(3, v), "GRU"), (lambda v: nn.RNN(3, 3, num_layers=v), "RNN"),
    (lambda v: nn.LSTMCell(v, 3), "LSTMCell"), (lambda v: nn.RNNCell(3, v), "RNNCell"),
])
@pytest.mark.parametrize("value,shown", [(2.5, "float 2.5"), ("3", "str '3'"), (True, "bool True"), (0, "int 0")])
def test_sizes_must_be_positive_integers(make, owner, value, shown):
    with pytest.raises(ValueError, match=re.escape(f"must be a positive integer, got {shown}")) as info:
        make(value)
    assert str(info.value).startswith(f"{owner}: ")


@pytest.mark.parametrize("make,owner", [
    (lambda d: nn.Linear(3, 4, dtype=d), "Linear"), (lambda d: nn.LSTM(3, 4, dtype=d), "LSTM"),
    (lambda d: nn.GRU(3, 4, dtype=d), "GRU"), (lambda d: nn.RNN(3, 4, dtype=d), "RNN"),
    (lambda d: nn.LSTMCell(3, 4, dtype=d), "LSTMCell"), (lambda d: nn.GRUCell(3, 4, dtype=d), "GRUCell"),
])
def test_parameters_must_be_floating_point(make, owner):
    for dtype, shown in (("int32", "'int32'"), (np.int64, "int64"), (bool, "bool"), ("complex64", "'complex64'"),
                         ("foo", "'foo'")):
        with pytest.raises(DTypeError, match=re.escape(f"{owner}: dtype must be a floating-point type such as "
                                                       f"float32 or float64, got {shown}")):
            make(dtype)
    assert next(make(np.float64).parameters()).dtype == np.float64
    assert next(make(None).parameters()).dtype == np.float32


def test_linear_refuses_a_python_list_and_takes_an_array():
    linear = nn.Linear(3, 4)
    with pytest.raises(TypeError, match=re.escape("Linear(3, 4): input must be a Tensor, got list; wrap it")):
        linear([[1.0, 2.0, 3.0]])
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(linear(x).numpy(), linear(tg.Tensor(x)).numpy())


@pytest.mark.parametrize("module", [nn.LSTM(I, H), nn.GRU(I, H), nn.RNN(I, H), nn.LSTMCell(I, H), nn.GRUCell(I, H)],
                         ids=lambda m: type(m).__name__)
def test_layers_and_cells_refuse_a_python_list(module):
    with pytest.raises(TypeError, match="input must be a Tensor, got list") as info:
        module([[0.0] * I])
    assert type(module).__name__ in str(info.value)


def test_a_three_item_state_tuple_says_what_was_expected():
    h = tensor(1, N, H)
    with pytest.raises(TypeError, match=re.escape(
            "the initial state must be a tuple (h_0, c_0), got a tuple of 3 items; expected 2 tensors, each "
            f"(num_layers * num_directions, batch, hidden_size) = (1, {N}, {H})")):
        nn.LSTM(I, H)(tensor(T, N, I), (h, h, h))
    with pytest.raises(TypeError, match=re.escape(
            f"expected 2 tensors, each (num_layers * num_directions, hidden_size) = (4, {H})")):
        nn.LSTM(I, H, num_layers=2, bidirectional=True)(tensor(T, I), [h, h, h])
    with pytest.raises(TypeError, match=re.escape(
            f"LSTMCell({I}, {H}): the state must be a tuple (h, c) of tensors of shape ({N}, {H}), "
            "got 3 items")):
        nn.LSTMCell(I, H)(tensor(N, I), (h[0], h[0], h[0]))


@pytest.mark.parametrize("value,shown", [
    ("abc", "str 'abc'"), (None, "NoneType None"), ([[1.0, 2.0], [3.0]], "list [[1.0, 2.0], [3.0]]"),
    (np.array([["a", "b"]]), "ndarray of dtype <U1"), (np.empty((4, 3), dtype=object), "ndarray of dtype object"),
])
def test_load_state_dict_refuses_values_that_are_not_numbers(value, shown):
    linear = nn.Linear(3, 4)
    before = linear.bias.numpy().copy()
    with pytest.raises(TypeError, match=re.escape(f"load_state_dict: 'weight' must be an array of numbers, got {shown}")):
        linear.load_state_dict({"bias": np.zeros(4), "weight": value})
    np.testing.assert_array_equal(linear.bias.numpy(), before)  # nothing written before the check
    linear.load_state_dict({"weight": [[1, 2, 3]] * 4, "bias": [0, 0, 0, 0]})  # nested lists of numbers are fine
    np.testing.assert_array_equal(linear.weight.numpy(), [[1, 2, 3]] * 4)
