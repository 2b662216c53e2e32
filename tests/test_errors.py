"""Bad input gets a clear error naming the op and the shapes (as tuples), dtypes or backends; nothing
is silently broadcast into a wrong answer."""

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F


def t(shape, dtype=np.float64, requires_grad=False):
    return tg.Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def message_of(error_type, fn):
    with pytest.raises(error_type) as info:
        fn()
    return str(info.value)


def assert_mentions(message, *parts):
    for part in parts:
        assert part in message, f"{part!r} missing from: {message}"


# ----------------------------------------------------------------------------------------------
# Shapes


def test_matmul_shapes_not_aligned():
    message = message_of(tg.ShapeError, lambda: t((3, 4)) @ t((5, 6)))
    assert_mentions(message, "matmul", "(3, 4)", "(5, 6)")


def test_matmul_vector_not_aligned():
    message = message_of(tg.ShapeError, lambda: t((3, 4)) @ t((5,)))
    assert_mentions(message, "matmul", "(3, 4)", "(5,)")


def test_matmul_of_a_0d_operand():
    message = message_of(tg.ShapeError, lambda: t(()) @ t((3,)))
    assert_mentions(message, "matmul", "()", "(3,)")


def test_matmul_batch_axes_that_do_not_broadcast():
    message = message_of(tg.ShapeError, lambda: t((2, 3, 4)) @ t((5, 4, 2)))
    assert_mentions(message, "matmul", "(2, 3, 4)", "(5, 4, 2)")


@pytest.mark.parametrize("op,combine", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
])
def test_broadcasting_mismatch_names_the_op_and_both_shapes(op, combine):
    message = message_of(tg.ShapeError, lambda: combine(t((3, 4)), t((5,))))
    assert_mentions(message, op, "(3, 4)", "(5,)")
    message = message_of(tg.ShapeError, lambda: combine(t((2, 3)), t((3, 2))))
    assert_mentions(message, op, "(2, 3)", "(3, 2)")


def test_broadcasting_mismatch_with_a_numpy_array():
    message = message_of(tg.ShapeError, lambda: t((3, 4)) * np.ones((2, 4)))
    assert_mentions(message, "mul", "(3, 4)", "(2, 4)")


def test_reshape_to_a_wrong_size():
    message = message_of(tg.ShapeError, lambda: t((3, 4)).reshape(5, 2))
    assert_mentions(message, "reshape", "(3, 4)")


def test_transpose_with_a_wrong_permutation():
    message = message_of(tg.ShapeError, lambda: t((2, 3, 4)).transpose(1, 0))
    assert_mentions(message, "transpose", "(2, 3, 4)", "swapaxes")


def test_index_out_of_range():
    """An IndexError, as NumPy and PyTorch raise (and as a for loop over __getitem__ expects)."""
    message = message_of(IndexError, lambda: t((3, 4))[5])
    assert_mentions(message, "getitem", "(3, 4)", "index 5")


def test_cat_of_mismatched_shapes():
    message = message_of(tg.ShapeError, lambda: tg.cat([t((2, 3)), t((2, 4))], axis=0))
    assert_mentions(message, "cat", "(2, 3)", "(2, 4)")
    message = message_of(tg.ShapeError, lambda: tg.cat([t((2, 3)), t((2, 3, 1))], axis=0))
    assert_mentions(message, "cat", "(2, 3)", "(2, 3, 1)")


def test_stack_of_mismatched_shapes():
    message = message_of(tg.ShapeError, lambda: tg.stack([t((2, 3)), t((3, 2))]))
    assert_mentions(message, "stack", "(2, 3)", "(3, 2)")


def test_split_sizes_that_do_not_add_up():
    message = message_of(tg.ShapeError, lambda: t((2, 5)).split([2, 2], axis=1))
    assert_mentions(message, "split", "[2, 2]", "(2, 5)")


def test_split_into_nonpositive_pieces():
    assert_mentions(message_of(tg.ShapeError, lambda: t((4,)).split(0)), "split")


def test_mse_loss_refuses_to_broadcast():
    """(N, 1) against (N,) would broadcast to (N, N) and average the wrong pairs."""
    message = message_of(tg.ShapeError, lambda: F.mse_loss(t((4, 1)), t((4,))))
    assert_mentions(message, "mse_loss", "(4, 1)", "(4,)")
    message = message_of(tg.ShapeError, lambda: F.mse_loss(t((4, 1)), np.zeros(4)))
    assert_mentions(message, "mse_loss", "(4, 1)", "(4,)")


def test_cross_entropy_with_wrong_target_shape():
    message = message_of(tg.ShapeError, lambda: F.cross_entropy(t((4, 3)), np.zeros((4, 1), dtype=np.int64)))
    assert_mentions(message, "cross_entropy", "(4, 3)", "(4, 1)")
    message = message_of(tg.ShapeError, lambda: F.cross_entropy(t((4, 3)), np.zeros(5, dtype=np.int64)))
    assert_mentions(message, "cross_entropy", "(4, 3)", "(5,)")


def test_cross_entropy_with_3d_logits():
    message = message_of(tg.ShapeError, lambda: F.cross_entropy(t((2, 4, 3)), np.zeros((2, 4), dtype=np.int64)))
    assert_mentions(message, "cross_entropy", "(2, 4, 3)")


def test_cross_entropy_with_targets_out_of_range():
    message = message_of(tg.ShapeError, lambda: F.cross_entropy(t((2, 3)), np.array([0, 3])))
    assert_mentions(message, "cross_entropy", "[0, 3)", "(2, 3)")
    message = message_of(tg.ShapeError, lambda: F.cross_entropy(t((2, 3)), np.array([-1, 0])))
    assert_mentions(message, "cross_entropy", "-1")


def test_hook_returning_a_wrong_shape():
    x = t((2, 3), requires_grad=True)
    h = x * 2.0
    h.register_hook(lambda g: g.sum(axis=0))
    message = message_of(tg.ShapeError, lambda: h.sum().backward())
    assert_mentions(message, "hook", "(3,)", "(2, 3)")


def test_backward_with_a_gradient_of_the_wrong_shape():
    y = t((2, 3), requires_grad=True) * 2.0
    message = message_of(tg.ShapeError, lambda: y.backward(np.ones((3, 2))))
    assert_mentions(message, "backward", "(3, 2)", "(2, 3)")


def test_item_of_many_elements():
    assert_mentions(message_of(tg.ShapeError, lambda: t((2, 2)).item()), "item", "(2, 2)")


def test_shape_errors_are_value_errors():
    """Code that catches ValueError (as for NumPy's own shape errors) still catches these."""
    with pytest.raises(ValueError):
        t((3, 4)) @ t((5, 6))


# ----------------------------------------------------------------------------------------------
# Dtypes


def test_cross_entropy_with_float_targets_names_the_dtype():
    message = message_of(tg.DTypeError, lambda: F.cross_entropy(t((2, 3)), np.array([0.0, 1.0])))
    assert_mentions(message, "cross_entropy", "float64", "integer")
    message = message_of(tg.DTypeError, lambda: F.cross_entropy(t((2, 3)), tg.Tensor([0.0, 1.0])))
    assert_mentions(message, "cross_entropy", "float32")


@pytest.mark.parametrize("op,combine", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("matmul", lambda a, b: a @ b), ("cat", lambda a, b: tg.cat([a, b])),
    ("stack", lambda a, b: tg.stack([a, b])), ("mse_loss", F.mse_loss),
])
def test_float32_with_float64_names_both(op, combine):
    a, b = t((2, 2), np.float32), t((2, 2), np.float64)
    message = message_of(tg.DTypeError, lambda: combine(a, b))
    assert_mentions(message, op, "float32", "float64")


def test_float32_with_float64_numpy_array():
    """A float64 NumPy array next to a float32 tensor is not silently cast either way."""
    message = message_of(tg.DTypeError, lambda: t((2,), np.float32) * np.ones(2))
    assert_mentions(message, "mul", "float32", "float64")


def test_requires_grad_on_integers():
    assert_mentions(message_of(tg.DTypeError, lambda: tg.Tensor([1, 2], requires_grad=True)), "int64")


def test_gradcheck_refuses_float32():
    x = t((2,), np.float32, requires_grad=True)
    assert_mentions(message_of(tg.DTypeError, lambda: tg.gradcheck(lambda x: x * 2.0, [x])), "float32", "float64")


def test_dtype_errors_are_type_errors():
    with pytest.raises(TypeError):
        t((2,), np.float32) + t((2,), np.float64)


# ----------------------------------------------------------------------------------------------
# The tape


def test_backward_on_a_non_scalar_without_grad():
    y = t((2, 3), requires_grad=True) * 2.0
    message = message_of(tg.GraphError, lambda: y.backward())
    assert_mentions(message, "backward", "(2, 3)", "not a scalar")


def test_backward_when_nothing_requires_grad():
    y = (t((2, 3)) * 2.0).sum()
    message = message_of(tg.GraphError, lambda: y.backward())
    assert_mentions(message, "backward", "requires_grad=True")


def test_backward_twice_through_a_released_graph():
    x = t((2,), requires_grad=True)
    y = (x * x).tanh().sum()
    y.backward()
    message = message_of(tg.GraphError, lambda: y.backward())
    assert_mentions(message, "second time", "retain_graph=True")


def test_pow_with_an_exponent_of_another_dtype():
    message = message_of(tg.DTypeError, lambda: t((2,), np.float32) ** t((2,), np.float64))
    assert_mentions(message, "pow", "float32", "float64")


def test_pow_with_an_exponent_that_is_not_a_number():
    assert_mentions(message_of(TypeError, lambda: t((2,)) ** "2"), "str")


def test_combining_with_an_unsupported_type():
    assert_mentions(message_of(TypeError, lambda: t((2,)) + "a"), "str")


def test_item_assignment_says_why_and_what_to_do_instead():
    t = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"shape \(2, 3\) does not support item assignment.*tg\.cat"):
        t[0] = 1.0
    t.data[0] = 1.0  # the documented way around it, outside the graph
    assert t.numpy()[0, 0] == 1.0
