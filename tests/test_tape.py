"""Tape semantics: reuse, accumulation, released graphs, retain_grad, hooks, no_grad, detach, deep
graphs, dtypes, construction, names and time steps."""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import autograd
from tinygrad_rnn.ops.activation import Tanh


def leaf(values, backend="numpy", name=None):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True, backend=backend, name=name)


# ----------------------------------------------------------------------------------------------
# Reuse and accumulation


def test_reused_tensor_gets_the_sum_of_its_paths(backend):
    """b = a + a; c = b * b  =>  c = 4a^2, dc/da = 8a (each use of a adds its share)."""
    a = leaf([[1.0, -2.0, 0.5]], backend)
    b = a + a
    c = b * b
    c.backward(np.ones((1, 3)))
    np.testing.assert_allclose(a.grad.numpy(), 8 * a.numpy())


def test_diamond_graph(backend):
    """y = tanh(x) * sigmoid(x) + x: three paths from x meet again."""
    x = leaf([0.3, -1.2], backend)
    y = (x.tanh() * x.sigmoid() + x).sum()
    y.backward()
    xn = x.numpy()
    t, s = np.tanh(xn), 1 / (1 + np.exp(-xn))
    np.testing.assert_allclose(x.grad.numpy(), (1 - t * t) * s + t * s * (1 - s) + 1)


def test_gradients_accumulate_across_backward_calls(backend):
    x = leaf([1.0, 2.0, 3.0], backend)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_gradients_accumulate_across_separate_graphs():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 + 2 * x.numpy())


def test_zero_grad_starts_again():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_leaf_grad_is_a_copy_that_the_user_may_modify():
    """One array flows to both inputs of add; changing a.grad in place must not change b.grad."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_second_backward_without_retain_graph_raises():
    x = leaf([0.5, -0.5])
    y = x.tanh().sum()
    y.backward()
    with pytest.raises(tg.GraphError, match="second time") as info:
        y.backward()
    assert "retain_graph=True" in str(info.value)


def test_released_graph_frees_saved_arrays():
    x = leaf([0.5, -0.5])
    h = x.tanh()
    y = h.sum()
    y.backward()
    assert h.grad_fn.saved is autograd._RELEASED  # the node no longer holds its arrays


def test_pickling_or_copying_a_graph_is_refused_with_a_clear_error():
    """A graph is not copied (as PyTorch refuses to deepcopy a non-leaf tensor): the refusal comes
    at once, however deep the graph, instead of a RecursionError (once at 28 LSTM steps)."""
    import copy
    import pickle

    x = leaf([0.5, -0.5], name="x")
    h = x
    for _ in range(10_000):
        h = (h * 0.5).tanh()
    for attempt in (pickle.dumps, copy.deepcopy, copy.copy):
        with pytest.raises(tg.GraphError, match=r"cannot pickle or copy tensor of shape \(2,\).*'tanh'.*detach\(\)"):
            attempt(h)
    with pytest.raises(tg.GraphError, match="cannot pickle or copy the op node <tanh>"):
        pickle.dumps(h.grad_fn)
    # What the error suggests works: the data, detached, and the leaves.
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(h.detach())).numpy(), h.numpy())
    x2 = copy.deepcopy(x)
    assert x2.requires_grad and x2.name == "x" and x2.is_leaf
    np.testing.assert_array_equal(x2.numpy(), x.numpy())


def test_a_module_still_deep_copies_after_a_forward_pass():
    model = tg.nn.LSTM(3, 4)
    out, _ = model(tg.Tensor(np.ones((5, 2, 3), dtype=np.float32)))
    out.sum().backward()
    clone = __import__("copy").deepcopy(model)
    for a, b in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a is not b and a.data is not b.data


def test_retain_graph_keeps_saved_arrays():
    x = leaf([0.5, -0.5])
    h = x.tanh()
    h.sum().backward(retain_graph=True)
    assert h.grad_fn.saved is not None


def test_scalar_backward_on_0d_and_1_element_tensors():
    x = leaf(2.0)
    (x * x).backward()
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad.numpy(), 4.0)
    assert type(x.grad.numpy()) is np.ndarray
    y = leaf([3.0])
    (y * y).backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0])


def test_0d_gradients_accumulate_as_arrays():
    """0-d NumPy arithmetic gives NumPy scalars; .grad must still be a 0-d array."""
    x = leaf(2.0)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert type(x.grad.data) is np.ndarray
    np.testing.assert_allclose(x.grad.numpy(), 8.0)


def test_backward_with_explicit_gradient(backend):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], backend)
    y = x * 3.0
    y.backward(np.array([[1.0, 0.0], [0.5, 2.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[3.0, 0.0], [1.5, 6.0]])
    x.grad = None
    y2 = x * 2.0
    y2.backward(tg.Tensor(np.ones((2, 2)), backend=backend))
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 2), 2.0))


def test_unused_branch_leaves_no_grad():
    x, unused = leaf([1.0]), leaf([2.0])
    _ = unused * 2.0
    (x * 2.0).sum().backward()
    assert unused.grad is None


def test_input_without_requires_grad_gets_no_grad():
    x = leaf([1.0, 2.0])
    c = tg.Tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_backward_from_a_leaf():
    x = leaf(1.5)
    x.backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0)


def test_split_outputs_used_in_any_order():
    x = leaf(np.arange(6.0).reshape(2, 3))
    a, b, c = x.split(1, axis=1)
    (c * 3.0 + a).sum().backward()  # b unused: its piece of the gradient is zero
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0, 3.0], [1.0, 0.0, 3.0]])


# ----------------------------------------------------------------------------------------------
# Intermediates, retain_grad and hooks


def test_intermediates_keep_no_grad_unless_retained():
    x = leaf([0.5, 1.0])
    h = x.tanh()
    g = h * 2.0
    g.retain_grad()
    g.sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(g.grad.numpy(), [1.0, 1.0])
    assert x.grad is not None


def test_retain_grad_on_the_root():
    x = leaf([0.5, 1.0])
    y = (x * x).sum()
    y.retain_grad()
    y.backward()
    np.testing.assert_allclose(y.grad.numpy(), 1.0)


def test_retain_grad_on_a_leaf_is_harmless():
    x = leaf([1.0])
    x.retain_grad()
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_retained_grad_is_the_complete_gradient_of_a_reused_intermediate():
    x = leaf([0.5, -1.0])
    h = x.tanh()
    h.retain_grad()
    (h * h + h * 3.0).sum().backward()
    hn = np.tanh(x.numpy())
    np.testing.assert_allclose(h.grad.numpy(), 2 * hn + 3.0)


def test_hook_sees_the_gradient_each_time_it_is_computed(backend):
    x = leaf([0.5, -1.0], backend)
    h = x.tanh()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(seen) == 2
    hn = np.tanh(x.numpy())
    for grad in seen:
        np.testing.assert_allclose(grad, 2 * hn)


def test_hook_fires_once_with_the_total_of_all_paths():
    x = leaf([0.5, -1.0])
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h + h * 3.0).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [4.0, 4.0])


def test_hook_may_replace_the_gradient(backend):
    x = leaf([0.5, -1.0], backend)
    h = x * 3.0
    h.register_hook(lambda g: g * 0.0 + 1.0)  # dL/dh := 1, whatever it was
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_hook_may_return_a_raw_array():
    x = leaf([0.5, -1.0])
    h = x * 3.0
    h.register_hook(lambda g: np.full(g.shape, 2.0))
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_hook_returning_none_keeps_the_gradient():
    x = leaf([0.5, -1.0])
    h = x * 3.0
    h.register_hook(lambda g: None)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_hooks_chain_in_registration_order():
    x = leaf([1.0])
    h = x * 1.0
    h.register_hook(lambda g: g + 1.0)
    h.register_hook(lambda g: g * 10.0)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [20.0])


def test_hook_handle_remove():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    calls = []
    handle = h.register_hook(lambda g: calls.append(1) or g * 100.0)
    y = h.sum()
    y.backward(retain_graph=True)
    handle.remove()
    x.grad = None
    y.backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    handle.remove()  # a second remove is harmless


def test_hook_on_a_leaf_sees_and_may_replace_its_gradient():
    x = leaf([1.0, 2.0])
    seen = []

    def clip(g):
        seen.append(g.numpy().copy())
        return g * 0.5

    x.register_hook(clip)
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(seen[0], [4.0, 4.0])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_hook_on_a_leaf_fires_once_per_backward_with_the_total():
    x = leaf([1.0])
    seen = []
    x.register_hook(lambda g: seen.append(float(g.item())))
    (x * 2.0 + x * 3.0).sum().backward()
    (x * 7.0).sum().backward()
    assert seen == [5.0, 7.0]
    np.testing.assert_allclose(x.grad.numpy(), [12.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(tg.GraphError, match="does not require grad"):
        tg.Tensor([1.0]).register_hook(lambda g: g)


def test_hook_on_an_output_of_split():
    x = leaf(np.arange(4.0))
    a, b = x.split(2)
    seen = []
    b.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2.0)
    (a * 1.0 + b * 3.0).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 6.0, 6.0])


# ----------------------------------------------------------------------------------------------
# no_grad and detach


def test_no_grad_records_nothing(backend):
    x = leaf([1.0, 2.0], backend)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2.0).tanh().sum()
    assert tg.is_grad_enabled()
    assert y.requires_grad is False
    assert y.grad_fn is None
    assert y.is_leaf
    with pytest.raises(tg.GraphError):
        y.backward()


def test_no_grad_restores_after_an_exception_and_nests():
    with pytest.raises(RuntimeError):
        with tg.no_grad():
            raise RuntimeError("boom")
    assert tg.is_grad_enabled()
    with tg.no_grad():
        with tg.no_grad():
            pass
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_detach_cuts_the_graph(backend):
    """z = detach(tanh(x)) * x: only the direct path to x carries gradient."""
    x = leaf([0.5, -1.0], backend)
    d = x.tanh().detach()
    assert d.requires_grad is False and d.grad_fn is None
    np.testing.assert_allclose(d.numpy(), np.tanh(x.numpy()))
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tanh(x.numpy()))


def test_truncated_bptt_with_detach():
    """Carrying h across chunks with detach: the second chunk's backward does not reach chunk one."""
    w = leaf(0.5)
    h = tg.Tensor(np.array(1.0))
    for _ in range(3):
        h = (h * w).tanh()
    h = h.detach()
    h1 = h
    for _ in range(2):
        h = (h * w).tanh()
    h.backward()
    # By hand: h_{k+1} = tanh(w h_k) from h1, two steps.
    a = np.tanh(0.5 * h1.item())
    b = np.tanh(0.5 * a)
    da_dw = (1 - a * a) * h1.item()
    db_dw = (1 - b * b) * (a + 0.5 * da_dw)
    np.testing.assert_allclose(w.grad.item(), db_dw)


# ----------------------------------------------------------------------------------------------
# Deep graphs: iterative, linear walks


def _tanh_chain(steps):
    x = leaf(np.array([0.3, -0.2]))
    h = x
    for _ in range(steps):
        h = h.tanh()
    return x, h


def test_10000_step_chain_backpropagates_without_recursion():
    x, h = _tanh_chain(10_000)
    h.sum().backward()
    # The same product of local derivatives, by hand.
    y, g = x.numpy(), np.ones(2)
    ys = []
    for _ in range(10_000):
        y = np.tanh(y)
        ys.append(y)
    for y in reversed(ys):
        g = g * (1 - y * y)
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-10)


def test_backward_visits_each_node_once(monkeypatch):
    """The walk is linear: a chain of n ops has generations 1..n and runs n backwards."""
    calls = [0]
    original = Tanh.backward

    def counting_backward(self, grad):
        calls[0] += 1
        return original(self, grad)

    monkeypatch.setattr(Tanh, "backward", counting_backward)
    for steps in (5_000, 10_000):
        calls[0] = 0
        x, h = _tanh_chain(steps)
        assert h._ctx.generation == steps
        h.backward(np.ones(2))
        assert calls[0] == steps


def test_deep_graph_with_reuse_at_every_step():
    """h_{t+1} = 0.5 h_t + 0.5 h_t: two edges into every step for 3,000 steps; dh_{t+1}/dh_t = 1."""
    x = leaf([1.0])
    h = x
    for _ in range(3_000):
        h = h * 0.5 + h * 0.5  # d h_{t+1} / d h_t = 1
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_a_0d_tensor_used_many_times_gets_every_gradient():
    """NumPy sums 0-d arrays into scalars; the walk must still add the third and later gradients
    (it once lost them: 18 instead of 26 here)."""
    x = leaf(2.0)
    s = x * 1.0  # a 0-d intermediate with four consumers
    y = s * 3.0 + s * 5.0 + s * 7.0 + s * 11.0
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 26.0)
    v = leaf([1.0, 2.0, 3.0])
    total = v.sum()  # 0-d, used by five products
    z = total * total * total + total * 2.0 + total
    z.backward()
    np.testing.assert_allclose(v.grad.numpy(), [3 * 6.0**2 + 3.0] * 3)
    assert tg.gradcheck(lambda u: (lambda t: t * t * t + t * 2.0 + t)(u.sum()), [leaf([0.5, -1.0, 2.0])])


def test_the_walk_visits_consumers_first(monkeypatch):
    """a feeds b and c, b feeds c: c's backward, then b's, then a's (each once its output
    gradient is complete), whatever order the dict of counts happens to hold them in."""
    from tinygrad_rnn.ops.arithmetic import Add, Mul

    visited = []
    for op in (Tanh, Mul, Add):
        original = op.backward

        def logging_backward(self, *grads, _original=original):
            visited.append(self)
            return _original(self, *grads)

        monkeypatch.setattr(op, "backward", logging_backward)
    x = leaf([1.0])
    a = x.tanh()
    b = a * 2.0
    c = a + b
    c.backward(np.ones(1))
    assert visited == [c.grad_fn, b.grad_fn, a.grad_fn]
    np.testing.assert_allclose(x.grad.numpy(), 3 * (1 - np.tanh(1.0) ** 2))


# ----------------------------------------------------------------------------------------------
# Errors of backward


def test_backward_on_non_scalar_without_grad_names_the_shape():
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(tg.GraphError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_when_nothing_requires_grad():
    y = tg.Tensor([1.0, 2.0]).sum()
    with pytest.raises(tg.GraphError, match="does not require grad"):
        y.backward()


# ----------------------------------------------------------------------------------------------
# Construction and dtypes


def test_integer_data_stays_integer():
    assert tg.Tensor(3).dtype.kind == "i"
    assert tg.Tensor([1, 2, 3]).dtype.kind == "i"
    assert tg.Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert tg.Tensor(np.array([1, 2], dtype=np.uint8)).dtype == np.uint8


def test_python_floats_become_float32():
    assert tg.Tensor(1.5).dtype == np.float32
    assert tg.Tensor([1.5, 2.0]).dtype == np.float32
    assert tg.Tensor([[1, 2.5], [3, 4]]).dtype == np.float32


def test_arrays_keep_their_float_dtype():
    assert tg.Tensor(np.zeros(3)).dtype == np.float64
    assert tg.Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert tg.Tensor(np.float64(1.5)).dtype == np.float64


def test_dtype_argument_takes_names_and_numpy_dtypes():
    assert tg.Tensor([1.0], dtype="float64").dtype == np.float64
    assert tg.Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert tg.Tensor(np.zeros(2), dtype="float32").dtype == np.float32
    assert tg.Tensor([1, 2], dtype="float64").dtype == np.float64
    t = tg.Tensor([1.25], dtype="float64")
    assert t.numpy()[0] == 1.25


def test_python_scalars_take_the_tensors_dtype():
    x32 = tg.Tensor([1.0, 2.0])
    x64 = tg.Tensor(np.array([1.0, 2.0]))
    for y in (x32 + 1, 1 - x32, x32 * 0.1, 2.0 / x32, x32**2):
        assert y.dtype == np.float32
    for y in (x64 + 1, 1 - x64, x64 * 0.1, 2.0 / x64):
        assert y.dtype == np.float64
    ints = tg.Tensor([1, 2])
    assert (ints * 3).dtype == ints.dtype
    np.testing.assert_array_equal((ints * 3).numpy(), [3, 6])


def test_int_tensor_with_python_float_is_refused_not_truncated():
    """[1, 2] + 0.5 must not quietly become [1, 2] + 0: the float is not cast to the int dtype, so
    the op refuses to mix them, as it refuses float32 with float64."""
    ints = tg.Tensor([1, 2])
    for combine in (lambda: ints + 0.5, lambda: 0.5 * ints, lambda: 1.5 - ints):
        with pytest.raises(tg.DTypeError) as info:
            combine()
        assert str(ints.dtype) in str(info.value) and "float32" in str(info.value)
    np.testing.assert_allclose((ints.astype("float32") + 0.5).numpy(), [1.5, 2.5])


def test_float64_flows_through_every_op_kind():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    w = tg.Tensor(np.ones((4, 2)), requires_grad=True)
    y = F.cross_entropy((x.tanh() @ w + 1.0).sigmoid() * 2.0, np.array([0, 1, 1]))
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64 and w.grad.dtype == np.float64


def test_float32_training_step_stays_float32():
    x = tg.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = ((x * 0.5).tanh() - 1).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_requires_grad_only_for_floats():
    with pytest.raises(tg.DTypeError, match="int"):
        tg.Tensor([1, 2], requires_grad=True)


def test_tensor_from_lists_numbers_arrays_and_tensors(backend):
    t = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], backend=backend)
    assert t.shape == (2, 2) and t.backend == backend
    assert tg.Tensor(2.5, backend=backend).shape == ()
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tg.Tensor(a, backend=backend).numpy(), a)
    copy = tg.Tensor(t)
    np.testing.assert_array_equal(copy.numpy(), t.numpy())
    assert copy.requires_grad is False


def test_numpy_is_always_a_numpy_array(backend):
    t = tg.Tensor(np.arange(3.0), backend=backend)
    assert type(t.numpy()) is np.ndarray
    assert type((t * 2.0).sum().numpy()) is np.ndarray
    assert type(t[0].numpy()) is np.ndarray
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])


def test_item(backend):
    t = tg.Tensor(np.array([[2.5]]), backend=backend)
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert tg.Tensor(np.array([1.0, 4.0]), backend=backend).sum().item() == 5.0
    with pytest.raises(tg.ShapeError, match=r"\(2,\)"):
        tg.Tensor(np.array([1.0, 4.0]), backend=backend).item()


def test_attributes():
    t = tg.Tensor(np.zeros((2, 3)), requires_grad=True, name="w")
    assert (t.shape, t.dtype, t.backend, t.name, t.requires_grad, t.grad) == ((2, 3), np.float64, "numpy", "w", True, None)
    assert t.ndim == 2 and t.size == 6 and len(t) == 2 and t.is_leaf and t.grad_fn is None
    assert "w" in repr(t)


# ----------------------------------------------------------------------------------------------
# The default backend


def test_set_backend_as_a_function():
    assert tg.default_backend() == "numpy"
    try:
        tg.set_backend("fake")
        assert tg.default_backend() == "fake"
        assert tg.Tensor([1.0]).backend == "fake"
    finally:
        tg.set_backend("numpy")
    assert tg.Tensor([1.0]).backend == "numpy"


def test_set_backend_as_a_context_manager_restores_the_default():
    with tg.set_backend("fake"):
        assert tg.Tensor(np.zeros(2)).backend == "fake"
        with tg.set_backend("numpy"):
            assert tg.Tensor(np.zeros(2)).backend == "numpy"
        assert tg.default_backend() == "fake"
    assert tg.default_backend() == "numpy"
    with pytest.raises(ValueError):
        with tg.set_backend("fake"):
            raise ValueError("inside")
    assert tg.default_backend() == "numpy"


def test_set_backend_to_an_unknown_name_leaves_the_default():
    with pytest.raises(tg.BackendError, match="unknown backend 'tpu'"):
        tg.set_backend("tpu")
    assert tg.default_backend() == "numpy"


# ----------------------------------------------------------------------------------------------
# Names and time steps


OP_NAMES = [
    ("add", lambda x: x + x), ("sub", lambda x: x - 1.0), ("neg", lambda x: -x), ("mul", lambda x: x * x),
    ("div", lambda x: x / 2.0), ("pow", lambda x: x**2), ("sigmoid", lambda x: x.sigmoid()),
    ("tanh", lambda x: x.tanh()), ("relu", lambda x: x.relu()), ("exp", lambda x: x.exp()),
    ("log", lambda x: (x * x + 1.0).log()), ("sum", lambda x: x.sum()), ("mean", lambda x: x.mean()),
    ("max", lambda x: x.max()), ("reshape", lambda x: x.reshape(-1)), ("transpose", lambda x: x.T),
    ("getitem", lambda x: x[0]), ("cat", lambda x: tg.cat([x, x])), ("stack", lambda x: tg.stack([x, x])),
    ("split", lambda x: x.split(1)[0]), ("matmul", lambda x: x @ x.T), ("softmax", lambda x: x.softmax()),
    ("log_softmax", lambda x: x.log_softmax()), ("cross_entropy", lambda x: F.cross_entropy(x, np.array([0, 1]))),
    ("mse_loss", lambda x: F.mse_loss(x, np.zeros((2, 2)))), ("cast", lambda x: x.float()),
    ("to", lambda x: x.to("fake")),
]


@pytest.mark.parametrize("name,fn", OP_NAMES, ids=[n for n, _ in OP_NAMES])
def test_each_op_records_its_name(name, fn):
    x = leaf([[0.5, -1.0], [2.0, 0.25]])
    y = fn(x)
    assert y.grad_fn.name == name
    assert all(isinstance(t, tg.Tensor) for t in y.grad_fn.inputs)


def test_grad_fn_links_back_to_the_inputs():
    x = leaf([1.0], name="x")
    h = x.tanh()
    h.name = "h_t"
    y = h * 2.0
    assert y.grad_fn.name == "mul"
    assert y.grad_fn.inputs[0] is h
    assert h.grad_fn.inputs == (x,)
    assert h.name == "h_t" and x.name == "x"
    y.sum().backward()
    assert x.grad.name == "grad_x"


def test_time_step_tags_the_ops():
    x = leaf([0.5])
    h = x
    for t in range(3):
        with tg.time_step(t):
            assert tg.current_time_step() == t
            h = (h * 2.0).tanh()
            assert h.step == t
            assert h.grad_fn.inputs[0].step == t  # the mul inside the step
    assert tg.current_time_step() is None
    assert x.step is None
    assert (h + 1.0).step is None


def test_time_steps_nest_and_restore():
    x = leaf([0.5])
    with tg.time_step(4):
        with tg.time_step(5):
            assert (x * 1.0).step == 5
        assert (x * 1.0).step == 4
    assert tg.current_time_step() is None


# ----------------------------------------------------------------------------------------------
# Numerical stability


def test_sigmoid_saturates_without_warnings(backend):
    x = leaf([-1e4, -50.0, 0.0, 50.0, 1e4], backend)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy()[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_array_equal(x.grad.numpy()[[0, 4]], [0.0, 0.0])


def test_sigmoid_saturates_in_float32():
    x = tg.Tensor(np.array([-1e4, 1e4], dtype=np.float32))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        np.testing.assert_array_equal(x.sigmoid().numpy(), [0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_finite_at_huge_logits(backend, dtype):
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 5.0]], dtype=dtype)
    x = tg.Tensor(logits, requires_grad=True, backend=backend)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        p = x.softmax()
        log_p = x.log_softmax()
        loss = F.cross_entropy(x, np.array([1, 0]))
        (p.sum() + log_p[:, 0].sum() + loss).backward()
    for t in (p, log_p, loss, x.grad):
        assert np.all(np.isfinite(t.numpy()))
    np.testing.assert_allclose(p.numpy(), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-6)
    np.testing.assert_allclose(log_p.numpy()[:, 0], [0.0, np.log(0.5)], atol=1e-6)
    # Row 0 picks class 1, 1e4 below the winner: loss 1e4; row 1 picks a winner of two: ln 2.
    np.testing.assert_allclose(loss.item(), (1e4 + np.log(2)) / 2, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# Python protocols and gradient ownership (found by an acceptance audit)


def test_iterating_a_tensor_steps_along_the_first_axis_and_stops():
    seq = tg.Tensor(np.arange(6.0).reshape(3, 2))
    rows = [x_t.numpy() for x_t in seq]
    assert len(rows) == 3
    np.testing.assert_array_equal(np.asarray(seq), np.arange(6.0).reshape(3, 2))


def test_one_element_tensors_convert_to_python_numbers():
    t = tg.Tensor([2.5]).sum()
    assert float(t) == 2.5 and int(t) == 2 and bool(t)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        bool(tg.Tensor([1.0, 2.0]))


def test_numpy_scalars_act_like_python_scalars():
    t = tg.Tensor([1.0, 2.0])
    assert (t * np.float32(2)).dtype == np.float32
    assert (t * np.int64(2)).dtype == np.float32
    assert (t ** np.float64(2) + t).dtype == np.float32


def test_retained_gradient_is_writable_and_accumulates():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 2 * np.array([2.0, 4.0]))  # 2 * dy/dh, twice
    h.grad.data += 1  # a copy the user owns, not a read-only view


def test_a_hook_writing_in_place_does_not_corrupt_another_inputs_gradient():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor([3.0, 4.0], requires_grad=True)
    a_mid = a * 1
    b_mid = b * 1
    total = a_mid + b_mid  # add hands one gradient array to both of its inputs

    def scale_in_place(g):
        g.data *= 10

    a_mid.register_hook(scale_in_place)
    total.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_no_grad_works_as_a_decorator():
    x = tg.Tensor([1.0], requires_grad=True)

    @tg.no_grad()
    def double(v):
        return v * 2

    assert not double(x).requires_grad


def test_a_node_is_one_generation_after_the_latest_node_it_consumes():
    """The walk's order: a consumer's generation exceeds its producers' (leaves count 0)."""
    x = leaf([0.5])
    a = x.tanh()
    b = a.tanh().tanh()
    c = a * b  # consumes a (generation 1) and b (generation 3)
    assert (a.grad_fn.generation, b.grad_fn.generation, c.grad_fn.generation) == (1, 3, 4)
    c.backward()
    ta = np.tanh(0.5)
    tb1 = np.tanh(ta)
    tb = np.tanh(tb1)
    # dc/dx = (b + a * db/da) * da/dx
    expected = (tb + ta * (1 - tb**2) * (1 - tb1**2)) * (1 - ta**2)
    np.testing.assert_allclose(x.grad.numpy(), [expected], rtol=1e-6)
