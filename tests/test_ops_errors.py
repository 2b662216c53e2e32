"""Bad arguments to the ops: each gets an error naming the op, the argument and the shape or dtype,
instead of a wrapped axis, a piece of negative size, a raw IndexError or ZeroDivisionError, or a
result in a dtype nobody asked for. Valid edge cases (negative axes, empty pieces) keep working.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from test_errors import assert_mentions, message_of, t


# ----------------------------------------------------------------------------------------------
# Shape arguments: split, chunk, transpose, swapaxes, and the axis of every op that takes one


def test_split_with_a_negative_size():
    """[4, -1] adds up to 3 but is no way to cut 3 elements (it gave pieces (3,) and (0,))."""
    message = message_of(tg.ShapeError, lambda: t((3,)).split([4, -1]))
    assert_mentions(message, "split", "[4, -1]", "(3,)")


def test_split_along_an_axis_that_does_not_exist():
    message = message_of(tg.ShapeError, lambda: t((2, 3)).split(1, axis=2))
    assert_mentions(message, "split", "axis 2", "(2, 3)")


def test_split_into_pieces_of_zero_length_is_valid():
    a, b = t((2, 3)).split([3, 0], axis=-1)
    assert a.shape == (2, 3) and b.shape == (2, 0)


@pytest.mark.parametrize("n", [0, -2])
def test_chunk_into_no_pieces(n):
    message = message_of(tg.ShapeError, lambda: t((4, 3)).chunk(n))  # was a ZeroDivisionError
    assert_mentions(message, "chunk", str(n), "(4, 3)")


def test_chunk_into_a_non_integer_count():
    assert_mentions(message_of(TypeError, lambda: t((4,)).chunk(1.5)), "chunk", "1.5")


def test_chunk_along_an_axis_that_does_not_exist():
    assert_mentions(message_of(tg.ShapeError, lambda: t((4, 3)).chunk(2, axis=-3)), "chunk", "axis -3", "(4, 3)")


def test_transpose_with_an_axis_out_of_range():
    """Axis 3 of a 2-D tensor wrapped to axis 1 and transposed without a word."""
    message = message_of(tg.ShapeError, lambda: t((2, 3)).transpose(0, 3))
    assert_mentions(message, "transpose", "axis 3", "(2, 3)")
    assert_mentions(message_of(tg.ShapeError, lambda: t((2, 3)).permute(-3, 0)), "transpose", "axis -3")


def test_swapaxes_with_an_axis_out_of_range():
    message = message_of(tg.ShapeError, lambda: t((2, 3)).swapaxes(0, 5))  # was a raw IndexError
    assert_mentions(message, "swapaxes", "axis2=5", "(2, 3)")
    assert_mentions(message_of(tg.ShapeError, lambda: t((2, 3)).swapaxes(-3, 0)), "swapaxes", "axis1=-3")


def test_negative_axes_in_range_stay_valid():
    x = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.transpose(-1, 0, -2).numpy(), x.numpy().transpose(2, 0, 1))
    np.testing.assert_array_equal(x.swapaxes(-1, -3).numpy(), x.numpy().swapaxes(0, 2))
    assert [p.shape for p in x.split([1, 3], axis=-1)] == [(2, 3, 1), (2, 3, 3)]
    assert [p.shape for p in x.chunk(2, axis=-2)] == [(2, 2, 4), (2, 1, 4)]
    assert tg.cat([x, x], axis=-3).shape == (4, 3, 4)
    assert tg.stack([x, x], axis=-1).shape == (2, 3, 4, 2)
    assert tg.stack([x, x], axis=3).shape == (2, 3, 4, 2)
    assert x.sum(axis=-3).shape == (3, 4) and x.var(axis=(-1, 0)).shape == (3,)


@pytest.mark.parametrize("op,call", [
    ("sum", lambda x: x.sum(axis=2)), ("mean", lambda x: x.mean(axis=-3)), ("max", lambda x: x.max(axis=(0, 5))),
    ("var", lambda x: x.var(axis=2)), ("softmax", lambda x: x.softmax(axis=2)),
    ("log_softmax", lambda x: x.log_softmax(axis=-3)),
])
def test_reductions_name_an_axis_out_of_range(op, call):
    message = message_of(tg.ShapeError, lambda: call(t((2, 3))))
    assert_mentions(message, op, "axis", "out of range", "(2, 3)")


def test_an_axis_that_is_not_an_integer():
    assert_mentions(message_of(TypeError, lambda: t((2, 3)).swapaxes(0, 1.0)), "swapaxes", "axis2", "1.0")


# ----------------------------------------------------------------------------------------------
# cat and stack


@pytest.mark.parametrize("join", [tg.cat, tg.stack, F.cat, F.stack])
def test_joining_nothing(join):
    message = message_of(tg.ShapeError, lambda: join([]))  # was "list index out of range"
    assert_mentions(message, join.__name__, "at least one tensor")


def test_cat_axis_out_of_range():
    message = message_of(tg.ShapeError, lambda: tg.cat([t((2, 3)), t((2, 3))], axis=2))
    assert_mentions(message, "cat", "axis 2", "(2, 3)")
    message = message_of(tg.ShapeError, lambda: tg.cat([t((2, 3)), t((2, 3))], axis=-3))
    assert_mentions(message, "cat", "axis -3", "(2, 3)")


def test_cat_of_0d_tensors():
    assert_mentions(message_of(tg.ShapeError, lambda: tg.cat([t(()), t(())])), "cat", "axis 0", "()")


def test_stack_axis_out_of_range():
    """A new axis may go anywhere from first to last: -3 to 2 for 2-D inputs."""
    message = message_of(tg.ShapeError, lambda: tg.stack([t((2, 3)), t((2, 3))], axis=3))
    assert_mentions(message, "stack", "axis 3", "(2, 3)")


def test_cat_of_one_tensor_instead_of_a_list():
    """Iterating a tensor gives its rows: tg.cat(x) would quietly join them into another tensor."""
    message = message_of(TypeError, lambda: tg.cat(t((3, 4))))
    assert_mentions(message, "cat", "list or tuple", "(3, 4)")
    assert_mentions(message_of(TypeError, lambda: tg.stack(t((3, 4)))), "stack", "(3, 4)")


# ----------------------------------------------------------------------------------------------
# Indexing out of range: an IndexError, as NumPy and PyTorch raise


@pytest.mark.parametrize("index,shown", [
    (5, "index 5"), ((0, 7), "index (0, 7)"), (-4, "index -4"), ((1, 2, 3), "too many indices"),
    (np.array([0, 9]), "9"), ([1, 3], "3"),
])
def test_index_out_of_range(backend, index, shown):
    x = tg.Tensor(np.ones((3, 4)), requires_grad=True, backend=backend)
    with pytest.raises(IndexError) as info:
        x[index]
    assert isinstance(info.value, tg.ShapeError)  # and a ShapeError, like the other shape problems
    assert_mentions(str(info.value), "getitem", shown, "(3, 4)")


def test_iterating_a_tensor_ends_without_an_error():
    assert [row.shape for row in t((3, 2))] == [(2,), (2,), (2,)]


# ----------------------------------------------------------------------------------------------
# Dtypes: ops whose results are real numbers refuse bool and integer tensors (NumPy would give
# float16 for bool.tanh() and float64 for int.tanh()); integer arithmetic stays integer.

FLOAT_ONLY = [
    ("sigmoid", lambda x: x.sigmoid()), ("tanh", lambda x: x.tanh()), ("exp", lambda x: x.exp()),
    ("log", lambda x: x.log()), ("sqrt", lambda x: x.sqrt()), ("leaky_relu", lambda x: x.leaky_relu()),
    ("mean", lambda x: x.mean()), ("var", lambda x: x.var()), ("softmax", lambda x: x.softmax()),
    ("log_softmax", lambda x: x.log_softmax()), ("div", lambda x: x / x), ("div", lambda x: x / 2),
    ("pow", lambda x: x**0.5), ("pow", lambda x: x**-1), ("pow", lambda x: x**x), ("tanh", F.tanh),
]


@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("op,call", FLOAT_ONLY, ids=[f"{op}-{i}" for i, (op, _) in enumerate(FLOAT_ONLY)])
def test_float_ops_refuse_bool_and_integer_tensors(backend, op, call, dtype):
    x = tg.Tensor(np.ones((2, 3), dtype=dtype), backend=backend)
    message = message_of(tg.DTypeError, lambda: call(x))
    assert_mentions(message, op, np.dtype(dtype).name, ".float()")


def test_integer_arithmetic_stays_integer(backend):
    """As in NumPy and PyTorch: integers in add, sub, mul, neg, pow by a non-negative integer,
    abs, relu, max, maximum, clip with integer bounds, sum."""
    x = tg.Tensor(np.array([[-2, 3], [4, -5]]), backend=backend)
    for y, want in [
        (x + 1, [[-1, 4], [5, -4]]), (x - x, [[0, 0], [0, 0]]), (x * 2, [[-4, 6], [8, -10]]), (-x, [[2, -3], [-4, 5]]),
        (x**2, [[4, 9], [16, 25]]), (abs(x), [[2, 3], [4, 5]]), (x.relu(), [[0, 3], [4, 0]]),
        (tg.maximum(x, 0), [[0, 3], [4, 0]]), (x.clip(-3, 3), [[-2, 3], [3, -3]]), (x.sum(axis=0), [2, -2]),
    ]:
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.numpy(), want)


def test_clip_of_an_integer_tensor_to_float_bounds():
    message = message_of(tg.DTypeError, lambda: t((2,), np.int64).clip(0.5, 1))
    assert_mentions(message, "clip", "int64", "(0.5, 1)")


def test_where_needs_a_bool_condition():
    message = message_of(tg.DTypeError, lambda: tg.where(np.array([1, 0]), t((2,)), t((2,))))
    assert_mentions(message, "where", "condition", "int64")


def test_where_of_two_dtypes():
    message = message_of(tg.DTypeError, lambda: tg.where(np.array([True, False]), t((2,)), t((2,), np.float32)))
    assert_mentions(message, "where", "float64", "float32")


@pytest.mark.parametrize("op,combine", [("maximum", tg.maximum), ("minimum", tg.minimum), ("pow", lambda a, b: a**b)])
def test_binary_ops_refuse_float32_with_float64(op, combine):
    message = message_of(tg.DTypeError, lambda: combine(t((2,), np.float32), t((2,))))
    assert_mentions(message, op, "float32", "float64")


@pytest.mark.parametrize("op,combine", [("maximum", tg.maximum), ("minimum", tg.minimum), ("pow", lambda a, b: a**b),
                                        ("where", lambda a, b: tg.where(np.array([True, False, True]), a, b))])
def test_binary_ops_refuse_shapes_that_do_not_broadcast(op, combine):
    message = message_of(tg.ShapeError, lambda: combine(t((2, 3)), t((2,))))
    assert_mentions(message, op, "(2, 3)", "(2,)")


# ----------------------------------------------------------------------------------------------
# Numeric arguments


@pytest.mark.parametrize("call,parts", [
    (lambda x: x.clip(), ("clip", "min and max")),
    (lambda x: x.clip("0", 1), ("clip", "min", "'0'")),
    (lambda x: x.leaky_relu(None), ("leaky_relu", "negative_slope", "None")),
    (lambda x: x.var(correction="1"), ("var", "correction", "'1'")),
])
def test_numeric_arguments_must_be_numbers(call, parts):
    assert_mentions(message_of(TypeError, lambda: call(t((2,)))), *parts)
