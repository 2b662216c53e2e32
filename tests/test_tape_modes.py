"""Grad mode and time steps belong to a thread (as PyTorch's grad mode does); in-place writes to
arrays that backward needs are caught; anomaly mode finds the first op that makes NaN or Inf."""

import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim


def run_in_thread_while(inside, body):
    """Run `inside` (a context manager factory) in another thread and `body()` here while the other
    thread is inside it; returns body's result."""
    entered, leave = threading.Event(), threading.Event()
    errors = []

    def other():
        try:
            with inside():
                entered.set()
                leave.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            entered.set()

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(10)
    try:
        return body()
    finally:
        leave.set()
        thread.join(10)
        assert not errors, errors


# ----------------------------------------------------------------------------------------------
# Modes are per thread


def test_no_grad_in_another_thread_does_not_stop_recording_here():
    """y = 2 w^2 at w = 3: dy/dw = 12 (main once gave 6.0 or raised while another thread was in no_grad)."""
    w = tg.Tensor(np.array(3.0), requires_grad=True)

    def forward_and_backward():
        assert tg.is_grad_enabled()
        y = w * w * 2.0
        y.backward()
        return w.grad.item()

    assert run_in_thread_while(tg.no_grad, forward_and_backward) == 12.0
    assert tg.is_grad_enabled()


def test_no_grad_here_does_not_stop_another_thread():
    w = tg.Tensor(np.array(3.0), requires_grad=True)
    result = []

    def worker():
        y = w * w * 2.0
        y.backward()
        result.append(w.grad.item())

    with tg.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(10)
        assert not (w * 2.0).requires_grad  # and here nothing is recorded
    assert result == [12.0]


def test_time_step_is_per_thread():
    x = tg.Tensor(np.ones(2), requires_grad=True)

    def tagged():
        assert tg.current_time_step() is None
        untagged = x.tanh()
        with tg.time_step(3):
            tagged3 = x.tanh()
        return untagged.step, tagged3.step

    assert run_in_thread_while(lambda: tg.time_step(7), tagged) == (None, 3)


def test_anomaly_mode_is_per_thread():
    def log_of_zero():
        assert not tg.is_anomaly_enabled()
        with np.errstate(divide="ignore"):
            return tg.Tensor(np.zeros(2)).log().numpy()  # no error: anomaly mode is off here

    assert np.isneginf(run_in_thread_while(tg.detect_anomaly, log_of_zero)).all()


# ----------------------------------------------------------------------------------------------
# In-place writes to arrays saved for backward


def _linear_and_loss(seed=0, backend="numpy"):
    rng = np.random.default_rng(seed)
    lin = nn.Linear(3, 2, dtype=np.float64, backend=backend)
    x = tg.Tensor(rng.standard_normal((4, 3)), backend=backend)
    return lin, x, (lin(x).tanh() * 2.0).sum()


@pytest.mark.parametrize("make_optimizer", [lambda p: optim.SGD(p, lr=1.0), lambda p: optim.Adam(p, lr=0.1)])
def test_an_optimizer_step_between_forward_and_backward_raises(make_optimizer, backend):
    """The issue's case: opt.step() between a loss's forward and its backward once gave a gradient
    off by 24; PyTorch raises "modified by an inplace operation"."""
    lin, x, loss = _linear_and_loss(backend=backend)
    opt = make_optimizer(lin.parameters())
    lin(x).sum().backward()
    opt.step()
    with pytest.raises(tg.GraphError) as info:
        loss.backward()
    message = str(info.value)
    for part in ("'weight'", "(2, 3)", "'matmul'", "modified by an inplace operation", "opt.step()"):
        assert part in message, f"{part!r} missing from: {message}"
    assert lin.weight._version == 1


def test_load_state_dict_between_forward_and_backward_raises():
    lin, x, loss = _linear_and_loss()
    lin.load_state_dict({k: v * 2 for k, v in lin.state_dict().items()})
    with pytest.raises(tg.GraphError, match=r"'weight' of shape \(2, 3\).*'matmul'"):
        loss.backward()


def test_forget_bias_set_after_the_forward_pass_raises_where_the_bias_was_saved():
    cell = nn.LSTMCell(2, 3, dtype=np.float64)
    x = tg.Tensor(np.ones((1, 2)))
    h, c = cell(x)
    # The bias only enters through an add, which saves nothing: changing it is harmless.
    cell.init_gate_bias("f", 1.0)
    (h.sum() + c.sum()).backward()
    assert cell.bias_ih._version == 1
    loss = (cell.bias_ih * cell.bias_ih).sum()  # mul saves its inputs
    cell.init_gate_bias("f", 2.0)
    with pytest.raises(tg.GraphError, match="'mul'"):
        loss.backward()


def test_a_write_before_the_forward_pass_or_after_backward_is_fine():
    """The usual loop: forward, backward, step, and again; gradients match a fresh graph."""
    lin, x, _ = _linear_and_loss()
    opt = optim.SGD(lin.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = (lin(x).tanh() * 2.0).sum()
        loss.backward()
        opt.step()
    loss = (lin(x).tanh() * 2.0).sum()
    opt.zero_grad()
    loss.backward()
    w = lin.weight.numpy()
    y = x.numpy() @ w.T + lin.bias.numpy()
    expected = ((2 * (1 - np.tanh(y) ** 2)).T @ x.numpy())
    np.testing.assert_allclose(lin.weight.grad.numpy(), expected, rtol=1e-12)


def test_retain_graph_then_step_then_second_backward_raises():
    lin, x, loss = _linear_and_loss()
    opt = optim.SGD(lin.parameters(), lr=1.0)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(tg.GraphError, match="inplace"):
        loss.backward()


# ----------------------------------------------------------------------------------------------
# Anomaly mode


def test_anomaly_mode_is_off_by_default():
    assert not tg.is_anomaly_enabled()
    with np.errstate(divide="ignore", invalid="ignore"):
        y = tg.Tensor(np.array([-1.0, 0.0]), requires_grad=True).log()  # NaN, -inf: no error
    assert np.isnan(y.numpy()[0])


def test_forward_anomaly_names_the_op_inputs_step_and_line(backend):
    x = tg.Tensor(np.array([2.0, -1.0, 0.5]), requires_grad=True, name="x", backend=backend)
    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        h = x * 3.0  # finite: no error
        with tg.time_step(4):
            with pytest.raises(tg.AnomalyError) as info:
                h.log()  # the line the error must name
    message = str(info.value)
    for part in ("forward", "'log'", "time step 4", "1 NaN and 0 Inf", "shape (3,)", "min -3", "test_tape_modes.py", "h.log()  # the line"):
        assert part in message, f"{part!r} missing from: {message}"
    assert not tg.is_anomaly_enabled()


def test_backward_anomaly_names_the_op_and_where_it_was_created(backend):
    """sqrt-like blow-up: y = x ** 0.5 is finite at x = 0 but its gradient 0.5 / sqrt(0) is inf."""
    x = tg.Tensor(np.array([0.0, 4.0]), requires_grad=True, name="x", backend=backend)
    tg.set_detect_anomaly(True)
    try:
        y = (x ** 0.5).sum()  # created here
        with pytest.raises(tg.AnomalyError) as info, np.errstate(divide="ignore"):
            y.backward()
    finally:
        tg.set_detect_anomaly(False)
    message = str(info.value)
    for part in ("backward", "'pow'", "0 NaN and 1 Inf", "input 0", "'x' of shape (2,)", "y = (x ** 0.5).sum()  # created here", "y.backward()"):
        assert part in message, f"{part!r} missing from: {message}"
    assert x.grad is None  # nothing half-done was stored


def test_exploding_gradients_in_a_tanh_rnn_are_caught_in_backward():
    """A tanh RNN whose recurrent weight is 3 times a permutation, run on zeros: h_t = 0, so
    tanh' = 1 and dL/dh_{T-k} = (W_hh^T)^k dL/dh_T grows as 3^k, past float32's 3.4e38 at k = 81."""
    T = 100
    rnn = nn.RNN(4, 16)
    with tg.no_grad():
        for p in rnn.parameters():
            p.data[...] = 0.0
        rnn.weight_hh_l0.data[...] = 3.0 * np.eye(16, dtype=np.float32)[::-1]
    x = tg.Tensor(np.zeros((T, 1, 4), dtype=np.float32))
    with tg.detect_anomaly(), np.errstate(over="ignore", invalid="ignore"):
        out, _ = rnn(x)
        with pytest.raises(tg.AnomalyError) as info:
            out[-1].sum().backward()
    message = str(info.value)
    assert "anomaly in backward" in message and "Inf" in message
    step = int(message.split("at time step ")[1].split()[0])
    assert step == T - 1 - 80, message  # 3^80 = 1.5e38 still fits; 3^81 does not


def test_without_anomaly_mode_no_creation_line_is_recorded():
    x = tg.Tensor(np.ones(2), requires_grad=True)
    assert x.tanh().grad_fn.created_at is None
    with tg.detect_anomaly():
        assert "test_tape_modes.py" in x.tanh().grad_fn.created_at


# ----------------------------------------------------------------------------------------------
# The core's rules: declared op parameters, which errors become ShapeErrors, what Tensor() takes


class _Scale(tg.autograd.Function):
    """y = factor * x, an op that declares its parameter."""

    name = "scale"
    factor = 1.0

    def forward(self, x):
        return self.factor * x

    def backward(self, grad):
        return (self.factor * grad,)


def test_an_op_refuses_a_parameter_it_does_not_declare():
    x = tg.Tensor(np.ones(2), requires_grad=True)
    np.testing.assert_array_equal(_Scale.apply(x, factor=3.0).numpy(), [3.0, 3.0])
    assert _Scale.parameters == frozenset({"factor"})
    with pytest.raises(TypeError, match=r"scale: unexpected op parameter\(s\) facter; the op declares: factor"):
        _Scale.apply(x, facter=3.0)
    with pytest.raises(TypeError, match="unexpected op parameter"):
        _Scale.apply(x, saved=(x.data,))  # the tape's own fields are not parameters


def test_every_op_in_the_package_declares_what_its_methods_pass():
    """The tape refuses undeclared parameters, so each Tensor method and functional function that
    passes some must find them declared; spot-check the ones that pass parameters."""
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    results = [x.sum(axis=0), x.mean(1, keepdims=True), x.max(), x.reshape(3, 2), x.T, x[0], x.split(1, axis=0)[0],
               x.astype(np.float32), x.softmax(), x.log_softmax(), x ** 2, x.to("numpy"), tg.cat([x, x]), tg.stack([x, x])]
    assert all(isinstance(r, tg.Tensor) for r in results)


class _Buggy(tg.autograd.Function):
    """An op with a bug inside: its forward raises on inputs of matching shapes."""

    name = "buggy"
    error = ValueError

    def forward(self, a, b):
        raise self.error("a bug in the op, not in the shapes")


@pytest.mark.parametrize("error", [ValueError, TypeError, IndexError, KeyError])
def test_a_bug_inside_an_op_is_not_reported_as_a_shape_error(error):
    a = tg.Tensor(np.ones((2, 3)))
    with pytest.raises(error) as info:
        _Buggy.apply(a, a, error=error)
    assert not isinstance(info.value, tg.ShapeError)
    described = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "a bug in the op" in described and "buggy" in described and "(2, 3)" in described


def test_operands_of_different_shapes_that_do_not_combine_are_a_shape_error():
    with pytest.raises(tg.ShapeError, match=r"add: cannot apply to input shapes \(2, 3\) and \(4,\)"):
        tg.Tensor(np.ones((2, 3))) + tg.Tensor(np.ones(4))


@pytest.mark.parametrize(
    "data, error, words",
    [
        ("abc", tg.DTypeError, "dtype <U3 (strings)"),
        (["1.0", "2.0"], tg.DTypeError, "strings"),
        (np.array([1, "a", None], dtype=object), tg.DTypeError, "dtype object (Python objects)"),
        ([[1.0, 2.0], [3.0]], tg.ShapeError, "ragged"),
        ([1.0, [2.0, 3.0]], tg.ShapeError, "ragged"),
        (b"ab", tg.DTypeError, "bytes"),
    ],
)
def test_tensor_refuses_data_that_is_not_numbers(data, error, words):
    with pytest.raises(error) as info:
        tg.Tensor(data)
    assert "Tensor:" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(
    "data, words",
    [
        (["1.5", "2"], "strings"),  # NumPy would parse them
        (np.array(["1.5"]), "strings"),
        ([1.0, None], "Python objects"),  # NumPy would make None a NaN
    ],
)
def test_a_dtype_does_not_turn_strings_or_none_into_numbers(data, words):
    with pytest.raises(tg.DTypeError, match=words):
        tg.Tensor(data, dtype="float32")


def test_ragged_lists_are_refused_with_where_they_differ():
    cases = {
        "[1] is a list of 1 where [0] is a list of 2": [[1.0, 2.0], [3.0]],
        "[1] is a list of 2 where [0] is a number": [1.0, [2.0, 3.0]],
        "[1][1] is a list of 2 where [0][0] is a list of 1": [[[1.0], [2.0]], [[3.0], [4.0, 5.0]]],
    }
    for where, data in cases.items():
        for dtype in (None, "float64"):
            with pytest.raises(tg.ShapeError) as info:
                tg.Tensor(data, dtype=dtype)
            assert str(info.value) == f"Tensor: nested lists of different lengths (ragged) cannot make a tensor: {where}"


def test_python_numbers_convert_as_before():
    assert tg.Tensor([[1, 2]], dtype="float64").data.dtype == np.float64
    assert tg.Tensor([1.5, 2]).data.dtype == np.float32  # Python floats default to float32
    assert tg.Tensor([1, 2]).data.dtype == np.int64 and tg.Tensor(True).data.dtype == np.bool_
    np.testing.assert_array_equal(tg.Tensor([0.1, 1e-40], dtype="float32").data, np.array([0.1, 1e-40], dtype=np.float32))
    assert tg.Tensor([2**70], dtype="float64").data[0] == 2.0**70  # beyond int64, in a dtype that holds it
