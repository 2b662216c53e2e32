"""Every op, on every backend: forward against a NumPy reference, backward against float64 central
differences with a random upstream gradient (tinygrad_rnn.gradcheck).

Each case is (function of Tensors, the same computation in NumPy, how to draw its inputs). Inputs
stay small (the numeric gradient costs two forward passes per element) and are drawn away from
the points where an op is not differentiable: relu at 0, ties in max, log of x <= 0, 1/0.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F

# ----------------------------------------------------------------------------------------------
# How inputs are drawn


def normal(shape):
    return lambda rng: rng.standard_normal(shape)


def positive(shape):
    """In [0.5, 2): log, division, fractional powers."""
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def nonzero(shape):
    """|x| in [0.2, 1.5): relu's kink at 0 and a denominator's pole stay far away."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.5, shape)


def away_from(points, shape):
    """Normal draws, each at least 0.1 away from every one of `points` (clip's bounds)."""

    def draw(rng):
        x = rng.standard_normal(shape)
        for p in points:
            near = np.abs(x - p) < 0.1
            x[near] = p + np.where(x[near] >= p, 0.1, -0.1)
        return x

    return draw


def distinct(shape):
    """Values at least 0.15 apart: max has no ties, and eps = 1e-6 cannot reorder them."""

    def draw(rng):
        count = int(np.prod(shape, dtype=int))
        ranks = rng.permutation(count) - count / 2
        return ((ranks + rng.uniform(-0.25, 0.25, count)) * 0.3).reshape(shape)

    return draw


@dataclass
class Case:
    id: str
    fn: Callable  # Tensors -> Tensor or tuple of Tensors
    ref: Callable  # the same on NumPy arrays
    draws: tuple  # one drawer per input


# ----------------------------------------------------------------------------------------------
# NumPy references (written out plainly; they are what the tape must agree with)


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    return np.log(np_softmax(x, axis))


def np_cross_entropy(logits, targets):
    log_p = np_log_softmax(logits.reshape(-1, logits.shape[-1]))
    return -log_p[np.arange(targets.size), targets.reshape(-1)].mean()


TARGETS = np.array([2, 0, 3, 3, 1])
EXPONENTS = np.linspace(-1.5, 2.5, 4)  # one exponent per column
CONDITION = np.array([[True, False, False, True], [False, True, True, False], [True, True, False, False]])
CONSTANT = np.linspace(-1.0, 1.0, 12).reshape(3, 4)  # a NumPy array on one side of an operator

# ----------------------------------------------------------------------------------------------
# The cases

CASES = [
    # Arithmetic, with broadcasting and Python scalars on either side
    Case("add", lambda a, b: a + b, lambda a, b: a + b, (normal((3, 4)), normal((3, 4)))),
    Case("add_BH_H", lambda a, b: a + b, lambda a, b: a + b, (normal((3, 4)), normal((4,)))),
    Case("add_H_BH", lambda a, b: a + b, lambda a, b: a + b, (normal((4,)), normal((3, 4)))),
    Case("add_scalar0d_tensor", lambda a, b: a + b, lambda a, b: a + b, (normal(()), normal((3, 4)))),
    Case("add_3d_broadcast", lambda a, b: a + b, lambda a, b: a + b, (normal((2, 1, 4)), normal((3, 1)))),
    Case("add_python_scalar_right", lambda a: a + 2.5, lambda a: a + 2.5, (normal((3, 4)),)),
    Case("add_python_scalar_left", lambda a: 2.5 + a, lambda a: 2.5 + a, (normal((3, 4)),)),
    Case("add_numpy_array_left", lambda a: CONSTANT + a, lambda a: CONSTANT + a, (normal((3, 4)),)),
    Case("sub", lambda a, b: a - b, lambda a, b: a - b, (normal((3, 4)), normal((3, 4)))),
    Case("sub_BH_H", lambda a, b: a - b, lambda a, b: a - b, (normal((3, 4)), normal((4,)))),
    Case("sub_0d_tensor", lambda a, b: a - b, lambda a, b: a - b, (normal(()), normal((2, 3)))),
    Case("sub_one_minus_z", lambda z: 1 - z, lambda z: 1 - z, (normal((3, 4)),)),
    Case("sub_z_minus_one", lambda z: z - 1, lambda z: z - 1, (normal((3, 4)),)),
    Case("neg", lambda a: -a, lambda a: -a, (normal((3, 4)),)),
    Case("mul", lambda a, b: a * b, lambda a, b: a * b, (normal((3, 4)), normal((3, 4)))),
    Case("mul_B1_BH", lambda a, b: a * b, lambda a, b: a * b, (normal((3, 1)), normal((3, 4)))),
    Case("mul_BH_B1", lambda a, b: a * b, lambda a, b: a * b, (normal((3, 4)), normal((3, 1)))),
    Case("mul_0d_tensor", lambda a, b: a * b, lambda a, b: a * b, (normal(()), normal((3, 4)))),
    Case("mul_tensor_0d", lambda a, b: a * b, lambda a, b: a * b, (normal((3, 4)), normal(()))),
    Case("mul_0d_0d", lambda a, b: a * b, lambda a, b: a * b, (normal(()), normal(()))),
    Case("mul_same_input_twice", lambda a: a * a, lambda a: a * a, (normal((3, 4)),)),
    Case("mul_python_scalar_left", lambda a: 3.0 * a, lambda a: 3.0 * a, (normal((3, 4)),)),
    Case("mul_python_int_right", lambda a: a * 3, lambda a: a * 3, (normal((3, 4)),)),
    Case("mul_numpy_array_left", lambda a: CONSTANT * a, lambda a: CONSTANT * a, (normal((3, 4)),)),
    Case("div", lambda a, b: a / b, lambda a, b: a / b, (normal((3, 4)), nonzero((3, 4)))),
    Case("div_BH_H", lambda a, b: a / b, lambda a, b: a / b, (normal((3, 4)), nonzero((4,)))),
    Case("div_H_BH", lambda a, b: a / b, lambda a, b: a / b, (normal((4,)), nonzero((3, 4)))),
    Case("div_B1_BH", lambda a, b: a / b, lambda a, b: a / b, (normal((3, 1)), nonzero((3, 4)))),
    Case("div_python_scalar_left", lambda a: 1 / a, lambda a: 1 / a, (nonzero((3, 4)),)),
    Case("div_python_scalar_right", lambda a: a / 4, lambda a: a / 4, (normal((3, 4)),)),
    Case("pow_2", lambda a: a**2, lambda a: a**2, (normal((3, 4)),)),
    Case("pow_3", lambda a: a**3, lambda a: a**3, (normal((3, 4)),)),
    Case("pow_half", lambda a: a**0.5, lambda a: a**0.5, (positive((3, 4)),)),
    Case("pow_minus_one", lambda a: a**-1, lambda a: a**-1.0, (positive((3, 4)),)),
    Case("pow_1_5", lambda a: a**1.5, lambda a: a**1.5, (positive((3, 4)),)),
    Case("pow_0", lambda a: a**0, lambda a: a**0, (normal((3, 4)),)),
    Case("pow_tensor_exponent", lambda a, b: a**b, lambda a, b: a**b, (positive((3, 4)), normal((3, 4)))),
    Case("pow_tensor_exponent_BH_H", lambda a, b: a**b, lambda a, b: a**b, (positive((3, 4)), normal((4,)))),
    Case("pow_tensor_exponent_B1_BH", lambda a, b: a**b, lambda a, b: a**b, (positive((3, 1)), normal((3, 4)))),
    Case("pow_numpy_exponent", lambda a: a ** EXPONENTS, lambda a: a**EXPONENTS, (positive((3, 4)),)),
    Case("pow_scalar_base", lambda b: 2.0**b, lambda b: 2.0**b, (normal((3, 4)),)),
    # Elementwise nonlinearities
    Case("sigmoid", lambda a: a.sigmoid(), np_sigmoid, (normal((3, 4)),)),
    Case("sigmoid_wide_range", lambda a: a.sigmoid(), np_sigmoid, (lambda rng: rng.uniform(-8, 8, (2, 5)),)),
    Case("tanh", lambda a: a.tanh(), np.tanh, (normal((3, 4)),)),
    Case("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), (nonzero((3, 4)),)),
    Case("exp", lambda a: a.exp(), np.exp, (normal((3, 4)),)),
    Case("log", lambda a: a.log(), np.log, (positive((3, 4)),)),
    Case("functional_sigmoid", F.sigmoid, np_sigmoid, (normal((2, 3)),)),
    Case("functional_tanh", F.tanh, np.tanh, (normal((2, 3)),)),
    Case("functional_relu", F.relu, lambda a: np.maximum(a, 0), (nonzero((2, 3)),)),
    Case("functional_exp", F.exp, np.exp, (normal((2, 3)),)),
    Case("functional_log", F.log, np.log, (positive((2, 3)),)),
    Case("sqrt", lambda a: a.sqrt(), np.sqrt, (positive((3, 4)),)),
    Case("sqrt_of_broadcast_sum", lambda a, b: (a + b).sqrt(), lambda a, b: np.sqrt(a + b),
         (positive((3, 1)), positive((4,)))),
    Case("functional_sqrt", F.sqrt, np.sqrt, (positive((2, 3)),)),
    Case("abs", lambda a: a.abs(), np.abs, (nonzero((3, 4)),)),
    Case("abs_builtin", lambda a: abs(a), np.abs, (nonzero((3, 4)),)),
    Case("abs_of_broadcast_difference", lambda a, b: F.abs(a - b), lambda a, b: np.abs(a - b),
         (lambda rng: rng.choice([-1.0, 1.0], (3, 1)) * rng.uniform(2, 3, (3, 1)), nonzero((4,)))),
    Case("leaky_relu", lambda a: a.leaky_relu(), lambda a: np.where(a > 0, a, 0.01 * a), (nonzero((3, 4)),)),
    Case("leaky_relu_slope", lambda a, b: F.leaky_relu(a * b, 0.2), lambda a, b: np.where(a * b > 0, a * b, 0.2 * a * b),
         (nonzero((3, 1)), nonzero((4,)))),
    Case("clip", lambda a: a.clip(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), (away_from((-0.5, 0.7), (3, 4)),)),
    Case("clip_min_only", lambda a: a.clip(min=0.1), lambda a: np.maximum(a, 0.1), (away_from((0.1,), (3, 4)),)),
    Case("clip_max_only", lambda a: F.clip(a, max=-0.2), lambda a: np.minimum(a, -0.2), (away_from((-0.2,), (3, 4)),)),
    Case("clamp", lambda a: a.clamp(-1, 1), lambda a: np.clip(a, -1, 1), (away_from((-1.0, 1.0), (3, 4)),)),
    # Elementwise choices, with broadcasting
    Case("maximum", lambda a, b: tg.maximum(a, b), np.maximum, (normal((3, 4)), normal((3, 4)))),
    Case("maximum_BH_H", lambda a, b: tg.maximum(a, b), np.maximum, (normal((3, 4)), normal((4,)))),
    Case("maximum_B1_H", lambda a, b: F.maximum(a, b), np.maximum, (normal((3, 1)), normal((4,)))),
    Case("maximum_python_scalar", lambda a: tg.maximum(0.25, a), lambda a: np.maximum(0.25, a),
         (away_from((0.25,), (3, 4)),)),
    Case("maximum_method", lambda a, b: a.maximum(b), np.maximum, (normal((4,)), normal((3, 4)))),
    Case("minimum", lambda a, b: tg.minimum(a, b), np.minimum, (normal((3, 4)), normal((3, 4)))),
    Case("minimum_BH_H", lambda a, b: tg.minimum(a, b), np.minimum, (normal((3, 4)), normal((4,)))),
    Case("minimum_H_B1", lambda a, b: F.minimum(a, b), np.minimum, (normal((4,)), normal((3, 1)))),
    Case("minimum_method_scalar", lambda a: a.minimum(-0.1), lambda a: np.minimum(a, -0.1),
         (away_from((-0.1,), (3, 4)),)),
    Case("where", lambda a, b: tg.where(CONDITION, a, b), lambda a, b: np.where(CONDITION, a, b),
         (normal((3, 4)), normal((3, 4)))),
    Case("where_broadcast", lambda a, b: tg.where(CONDITION[:, :1], a, b), lambda a, b: np.where(CONDITION[:, :1], a, b),
         (normal((4,)), normal((3, 1)))),
    Case("where_tensor_condition", lambda a: F.where(tg.Tensor(CONDITION, backend=a.backend), a, 0.0),
         lambda a: np.where(CONDITION, a, 0.0), (normal((3, 4)),)),
    Case("where_self_comparison", lambda a: tg.where(a.data > 0, a, a * 0.1), lambda a: np.where(a > 0, a, a * 0.1),
         (nonzero((3, 4)),)),
    # Reductions: every axis form, with and without keepdims
    Case("sum_all", lambda a: a.sum(), lambda a: a.sum(), (normal((2, 3, 4)),)),
    Case("sum_all_keepdims", lambda a: a.sum(keepdims=True), lambda a: a.sum(keepdims=True), (normal((2, 3, 4)),)),
    Case("sum_axis0", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), (normal((2, 3, 4)),)),
    Case("sum_axis1_keepdims", lambda a: a.sum(1, True), lambda a: a.sum(1, keepdims=True), (normal((2, 3, 4)),)),
    Case("sum_axis_neg1", lambda a: a.sum(axis=-1), lambda a: a.sum(axis=-1), (normal((2, 3, 4)),)),
    Case("sum_axes_0_2", lambda a: a.sum(axis=(0, 2)), lambda a: a.sum(axis=(0, 2)), (normal((2, 3, 4)),)),
    Case("sum_0d", lambda a: a.sum(), lambda a: a.sum(), (normal(()),)),
    Case("functional_sum", lambda a: F.sum(a, 1), lambda a: a.sum(axis=1), (normal((3, 4)),)),
    Case("mean_all", lambda a: a.mean(), lambda a: a.mean(), (normal((2, 3, 4)),)),
    Case("mean_axis0", lambda a: a.mean(axis=0), lambda a: a.mean(axis=0), (normal((2, 3, 4)),)),
    Case("mean_axis_neg1_keepdims", lambda a: a.mean(-1, True), lambda a: a.mean(-1, keepdims=True),
         (normal((2, 3, 4)),)),
    Case("mean_axes_1_2", lambda a: a.mean(axis=(1, 2)), lambda a: a.mean(axis=(1, 2)), (normal((2, 3, 4)),)),
    Case("functional_mean", lambda a: F.mean(a, 0, True), lambda a: a.mean(0, keepdims=True), (normal((3, 4)),)),
    Case("max_all", lambda a: a.max(), lambda a: a.max(), (distinct((2, 3, 4)),)),
    Case("max_all_keepdims", lambda a: a.max(keepdims=True), lambda a: a.max(keepdims=True), (distinct((3, 4)),)),
    Case("max_axis0", lambda a: a.max(axis=0), lambda a: a.max(axis=0), (distinct((2, 3, 4)),)),
    Case("max_axis1_keepdims", lambda a: a.max(1, True), lambda a: a.max(1, keepdims=True), (distinct((2, 3, 4)),)),
    Case("max_axis_neg1", lambda a: a.max(axis=-1), lambda a: a.max(axis=-1), (distinct((2, 3, 4)),)),
    Case("max_axes_0_2", lambda a: a.max(axis=(0, 2)), lambda a: a.max(axis=(0, 2)), (distinct((2, 3, 4)),)),
    Case("functional_max", lambda a: F.max(a, 1), lambda a: a.max(axis=1), (distinct((3, 4)),)),
    Case("var_all", lambda a: a.var(), lambda a: a.var(ddof=1), (normal((2, 3, 4)),)),
    Case("var_axis1_population", lambda a: a.var(1, correction=0), lambda a: a.var(axis=1), (normal((2, 3, 4)),)),
    Case("var_axis_neg1_keepdims", lambda a: a.var(-1, True), lambda a: a.var(-1, ddof=1, keepdims=True),
         (normal((2, 3, 4)),)),
    Case("var_axes_0_2", lambda a: a.var(axis=(0, 2)), lambda a: a.var(axis=(0, 2), ddof=1), (normal((2, 3, 4)),)),
    Case("var_of_broadcast_product", lambda a, b: (a * b).var(axis=-1, keepdims=True, correction=0),
         lambda a, b: (a * b).var(axis=-1, keepdims=True), (normal((3, 1)), normal((5,)))),
    Case("functional_var", lambda a: F.var(a, 0), lambda a: a.var(axis=0, ddof=1), (normal((3, 4)),)),
    # Shapes
    Case("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), (normal((3, 4)),)),
    Case("reshape_tuple_minus1", lambda a: a.reshape((2, -1)), lambda a: a.reshape(2, -1), (normal((2, 3, 2)),)),
    Case("reshape_to_0d", lambda a: a.reshape(()), lambda a: a.reshape(()), (normal((1, 1)),)),
    Case("transpose_reverse", lambda a: a.transpose(), lambda a: a.transpose(), (normal((2, 3, 4)),)),
    Case("transpose_perm", lambda a: a.transpose(1, 2, 0), lambda a: a.transpose(1, 2, 0), (normal((2, 3, 4)),)),
    Case("transpose_perm_tuple", lambda a: a.transpose((2, 0, 1)), lambda a: a.transpose(2, 0, 1),
         (normal((2, 3, 4)),)),
    Case("T", lambda a: a.T, lambda a: a.T, (normal((3, 4)),)),
    Case("swapaxes", lambda a: a.swapaxes(0, 2), lambda a: a.swapaxes(0, 2), (normal((2, 3, 4)),)),
    Case("swapaxes_negative", lambda a: a.swapaxes(-1, -2), lambda a: a.swapaxes(-1, -2), (normal((2, 3, 4)),)),
    Case("functional_reshape", lambda a: F.reshape(a, 12), lambda a: a.reshape(12), (normal((3, 4)),)),
    Case("functional_transpose", lambda a: F.transpose(a, 1, 0), lambda a: a.T, (normal((3, 4)),)),
    # Indexing: basic slices, integer arrays with repeats, negative indices
    Case("getitem_int", lambda a: a[1], lambda a: a[1], (normal((3, 4)),)),
    Case("getitem_negative_int", lambda a: a[-1], lambda a: a[-1], (normal((3, 4)),)),
    Case("getitem_element", lambda a: a[2, -3], lambda a: a[2, -3], (normal((3, 4)),)),
    Case("getitem_slice", lambda a: a[1:3], lambda a: a[1:3], (normal((4, 3)),)),
    Case("getitem_step_slice", lambda a: a[:, ::2], lambda a: a[:, ::2], (normal((3, 5)),)),
    Case("getitem_reverse", lambda a: a[::-1, 1:], lambda a: a[::-1, 1:], (normal((3, 4)),)),
    Case("getitem_ellipsis_none", lambda a: a[..., None, 1], lambda a: a[..., None, 1], (normal((2, 3, 4)),)),
    Case("getitem_int_array_repeats", lambda a: a[np.array([0, 2, 0, 0])], lambda a: a[np.array([0, 2, 0, 0])],
         (normal((3, 4)),)),
    Case("getitem_negative_int_array", lambda a: a[np.array([-1, 0, -1])], lambda a: a[np.array([-1, 0, -1])],
         (normal((3, 4)),)),
    Case("getitem_list_repeats", lambda a: a[[1, 1, 2]], lambda a: a[[1, 1, 2]], (normal((3, 4)),)),
    Case("getitem_pairs_of_arrays", lambda a: a[np.array([0, 2, 0]), np.array([1, -1, 1])],
         lambda a: a[np.array([0, 2, 0]), np.array([1, -1, 1])], (normal((3, 4)),)),
    Case("getitem_slice_and_array", lambda a: a[:, np.array([3, 3, 0])], lambda a: a[:, np.array([3, 3, 0])],
         (normal((2, 4)),)),
    Case("getitem_int_tensor_index", lambda a: a[tg.Tensor(np.array([1, 1, 0]), backend=a.backend)],
         lambda a: a[np.array([1, 1, 0])], (normal((3, 4)),)),
    # Joining and cutting
    Case("cat_axis0", lambda a, b: tg.cat([a, b]), lambda a, b: np.concatenate([a, b]),
         (normal((2, 3)), normal((1, 3)))),
    Case("cat_axis1_three", lambda a, b, c: tg.cat([a, b, c], axis=1), lambda a, b, c: np.concatenate([a, b, c], 1),
         (normal((2, 3)), normal((2, 1)), normal((2, 2)))),
    Case("cat_axis_neg1", lambda a, b: F.cat([a, b], axis=-1), lambda a, b: np.concatenate([a, b], -1),
         (normal((2, 2, 3)), normal((2, 2, 1)))),
    Case("cat_same_input_twice", lambda a: tg.cat([a, a], axis=0), lambda a: np.concatenate([a, a]),
         (normal((2, 3)),)),
    Case("stack_axis0", lambda a, b: tg.stack([a, b]), lambda a, b: np.stack([a, b]), (normal((2, 3)), normal((2, 3)))),
    Case("stack_axis1", lambda a, b, c: tg.stack([a, b, c], axis=1), lambda a, b, c: np.stack([a, b, c], 1),
         (normal((2, 3)), normal((2, 3)), normal((2, 3)))),
    Case("stack_axis_neg1", lambda a, b: F.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], -1),
         (normal((2, 3)), normal((2, 3)))),
    Case("split_size", lambda a: a.split(2, axis=1), lambda a: tuple(np.split(a, [2, 4], axis=1)), (normal((2, 5)),)),
    Case("split_sizes_axis0", lambda a: a.split([1, 3], axis=0), lambda a: tuple(np.split(a, [1], axis=0)),
         (normal((4, 2)),)),
    Case("split_axis_neg1", lambda a: F.split(a, [3, 1], axis=-1), lambda a: tuple(np.split(a, [3], axis=-1)),
         (normal((2, 2, 4)),)),
    Case("split_first_piece_only", lambda a: a.split(2, axis=1)[0] * 2.0, lambda a: a[:, :2] * 2.0,
         (normal((2, 5)),)),
    Case("split_pieces_recombined", lambda a: (lambda p: p[2] * p[0] + p[1].tanh())(a.split(2, axis=0)),
         lambda a: a[4:6] * a[0:2] + np.tanh(a[2:4]), (normal((6, 3)),)),
    Case("chunk", lambda a: a.chunk(3, axis=1), lambda a: tuple(np.split(a, [3, 6], axis=1)), (normal((2, 7)),)),
    Case("chunk_axis0", lambda a: F.chunk(a, 2), lambda a: tuple(np.split(a, [2], axis=0)), (normal((4, 3)),)),
    # Matrix products
    Case("matmul_2d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((3, 4)), normal((4, 2)))),
    # A square second operand: a backward that forgets a transpose still has the right shapes here.
    # h @ W.T with fewer rows than W has: MatMul computes it as (W @ h.T).T
    Case("matmul_transposed_weight", lambda a, b: a @ b.T, lambda a, b: a @ b.T, (normal((3, 4)), normal((5, 4)))),
    Case("matmul_transposed_weight_more_rows", lambda a, b: a @ b.T, lambda a, b: a @ b.T,
         (normal((6, 4)), normal((5, 4)))),
    Case("matmul_square_second", lambda a, b: a @ b, lambda a, b: a @ b, (normal((3, 4)), normal((4, 4)))),
    Case("matmul_square_both", lambda a, b: a @ b, lambda a, b: a @ b, (normal((4, 4)), normal((4, 4)))),
    Case("matmul_3d_square_weight", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 3, 3)), normal((3, 3)))),
    Case("matmul_1d_square", lambda a, b: a @ b, lambda a, b: a @ b, (normal((3,)), normal((3, 3)))),
    Case("matmul_1d_2d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((4,)), normal((4, 2)))),
    Case("matmul_2d_1d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((3, 4)), normal((4,)))),
    Case("matmul_1d_1d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((4,)), normal((4,)))),
    Case("matmul_3d_2d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 3, 4)), normal((4, 2)))),
    Case("matmul_4d_2d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 2, 1, 3)), normal((3, 2)))),
    Case("matmul_3d_3d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 3, 4)), normal((2, 4, 2)))),
    Case("matmul_batch_broadcast", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 1, 2, 3)), normal((3, 3, 2)))),
    Case("matmul_2d_3d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 3)), normal((2, 3, 2)))),
    Case("matmul_3d_1d", lambda a, b: a @ b, lambda a, b: a @ b, (normal((2, 3, 4)), normal((4,)))),
    Case("matmul_numpy_left", lambda b: CONSTANT @ b, lambda b: CONSTANT @ b, (normal((4, 2)),)),
    Case("functional_matmul", F.matmul, lambda a, b: a @ b, (normal((2, 3)), normal((3, 2)))),
    # Softmax family and losses
    Case("softmax", lambda a: a.softmax(), np_softmax, (normal((3, 4)),)),
    Case("softmax_axis0", lambda a: a.softmax(axis=0), lambda a: np_softmax(a, 0), (normal((3, 4)),)),
    Case("softmax_3d_axis1", lambda a: F.softmax(a, 1), lambda a: np_softmax(a, 1), (normal((2, 3, 4)),)),
    Case("log_softmax", lambda a: a.log_softmax(), np_log_softmax, (normal((3, 4)),)),
    Case("log_softmax_axis0", lambda a: a.log_softmax(axis=0), lambda a: np_log_softmax(a, 0), (normal((3, 4)),)),
    Case("log_softmax_3d_axis1", lambda a: F.log_softmax(a, 1), lambda a: np_log_softmax(a, 1), (normal((2, 3, 4)),)),
    Case("cross_entropy", lambda a: F.cross_entropy(a, TARGETS), lambda a: np_cross_entropy(a, TARGETS),
         (normal((5, 4)),)),
    Case("cross_entropy_int_tensor_targets",
         lambda a: F.cross_entropy(a, tg.Tensor(TARGETS[:3], backend=a.backend)),
         lambda a: np_cross_entropy(a, TARGETS[:3]), (normal((3, 4)),)),
    Case("cross_entropy_single_sample", lambda a: F.cross_entropy(a, np.array(2)),
         lambda a: np_cross_entropy(a, np.array(2)), (normal((4,)),)),
    Case("mse_loss", F.mse_loss, lambda a, b: ((a - b) ** 2).mean(), (normal((3, 4)), normal((3, 4)))),
    Case("mse_loss_numpy_target", lambda a: F.mse_loss(a, CONSTANT), lambda a: ((a - CONSTANT) ** 2).mean(),
         (normal((3, 4)),)),
    # Functional arithmetic
    Case("functional_add", F.add, lambda a, b: a + b, (normal((3, 4)), normal((4,)))),
    Case("functional_sub", F.sub, lambda a, b: a - b, (normal((3, 4)), normal((3, 1)))),
    Case("functional_mul", F.mul, lambda a, b: a * b, (normal((3, 4)), normal((3, 4)))),
    Case("functional_div", F.div, lambda a, b: a / b, (normal((3, 4)), nonzero((3, 4)))),
    Case("functional_neg", F.neg, lambda a: -a, (normal((3, 4)),)),
    # Crossings: dtype casts and backends
    Case("cast_float_double", lambda a: (a.float() * 3.0).double(), lambda a: a.astype(np.float32) * 3.0,
         (normal((3, 4)),)),
    Case("cast_astype_names", lambda a: (a.astype("float32") + 1.0).astype("float64"),
         lambda a: a.astype(np.float32) + 1.0, (normal((3, 4)),)),
    Case("cast_to_same_dtype", lambda a: a.double() * 2.0, lambda a: a * 2.0, (normal((3, 4)),)),
    Case("to_other_backend_and_back",
         lambda a: a.to(_other_backend(a.backend)).tanh().to(a.backend) * a,
         lambda a: np.tanh(a) * a, (normal((3, 4)),)),
    Case("to_same_backend", lambda a: a.to(a.backend).tanh(), np.tanh, (normal((3, 4)),)),
]

# Casting to float32 in the middle rounds each value (relative 6e-8); central differences with
# eps = 1e-6 would see that rounding as a gradient. These functions are linear in the input, so a
# larger step has no truncation error and sees through the rounding.
LOOSE = {"cast_float_double": dict(eps=1e-2, atol=1e-4), "cast_astype_names": dict(eps=1e-2, atol=1e-4)}


def _other_backend(name):
    return "fake" if name == "numpy" else "numpy"


def _leaves(case, backend, rng):
    arrays = [draw(rng) for draw in case.draws]
    tensors = [tg.Tensor(a, requires_grad=True, backend=backend, name=f"x{i}") for i, a in enumerate(arrays)]
    return arrays, tensors


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


# ----------------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward_matches_numpy(case, backend, rng):
    arrays, tensors = _leaves(case, backend, rng)
    outputs = _as_tuple(case.fn(*tensors))
    expected = _as_tuple(case.ref(*arrays))
    assert len(outputs) == len(expected)
    rtol = 1e-6 if case.id.startswith("cast") else 1e-12  # a float32 step rounds to ~6e-8
    for out, want in zip(outputs, expected):
        assert out.backend == backend
        assert out.shape == np.shape(want)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.numpy(), want, rtol=rtol, atol=1e-12)
        assert out.requires_grad and out.grad_fn is not None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradcheck(case, backend, rng):
    _, tensors = _leaves(case, backend, rng)
    assert tg.gradcheck(case.fn, tensors, **LOOSE.get(case.id, {})) is True


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradients_land_on_the_inputs_backend(case, backend, rng):
    """After backward, each input's .grad is a Tensor on the input's backend, of its shape and dtype."""
    _, tensors = _leaves(case, backend, rng)
    outputs = _as_tuple(case.fn(*tensors))
    loss = None
    for out in outputs:
        term = (out * out).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for t in tensors:
        assert t.grad is not None
        assert t.grad.backend == backend
        assert t.grad.shape == t.shape
        assert t.grad.dtype == t.dtype
        assert t.grad.requires_grad is False


def test_every_op_is_covered():
    """Each op of the tape appears in at least one case above (found by running them all)."""
    seen = set()
    rng = np.random.default_rng(0)
    for case in CASES:
        _, tensors = _leaves(case, "numpy", rng)
        stack = [o.grad_fn for o in _as_tuple(case.fn(*tensors))]
        visited = set()
        while stack:
            fn = stack.pop()
            if fn is None or fn in visited:
                continue
            visited.add(fn)
            seen.add(fn.name)
            stack.extend(t.grad_fn for t in fn.inputs)
    expected = {
        "add", "sub", "neg", "mul", "div", "pow", "sigmoid", "tanh", "relu", "exp", "log", "sqrt", "sum",
        "mean", "max", "var", "abs", "leaky_relu", "clip", "maximum", "minimum", "where", "reshape", "transpose", "getitem", "cat", "stack", "split", "matmul", "softmax",
        "log_softmax", "cross_entropy", "mse_loss", "cast", "to",
    }
    assert expected <= seen, f"ops without a case: {sorted(expected - seen)}"


def test_op_parameters_are_declared(monkeypatch):
    """Every parameter an op is applied with (axis=, exponent=, index=, ...) is declared on its
    class with a default, so a reader of the op sees what it takes."""
    from tinygrad_rnn.autograd import Function

    applied = []
    original = Function.apply.__func__

    def recording_apply(cls, *inputs, **params):
        applied.append((cls, params))
        return original(cls, *inputs, **params)

    monkeypatch.setattr(Function, "apply", classmethod(recording_apply))
    rng = np.random.default_rng(0)
    for case in CASES:
        _, tensors = _leaves(case, "numpy", rng)
        case.fn(*tensors)
    tg.Tensor([1.0]).leaky_relu(0.2).clip(0, 1)
    undeclared = {
        f"{cls.__name__}.{name}"
        for cls, params in applied
        for name in params
        if not any(name in vars(c) for c in cls.__mro__ if c is not Function)
    }
    assert not undeclared, f"parameters not declared on their op class: {sorted(undeclared)}"
    assert {cls.__name__ for cls, params in applied if params} >= {
        "Sum", "Mean", "Max", "Var", "Pow", "Softmax", "LogSoftmax", "Reshape", "Transpose", "GetItem", "Cat",
        "Stack", "Split", "Cast", "ToBackend", "Clip", "LeakyReLU",
    }


def test_max_shares_the_gradient_between_ties(backend):
    """At a tie the gradient is split equally (the subgradient gradcheck cannot see)."""
    x = tg.Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True, backend=backend)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    x.grad = None
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])


def test_relu_gradient_is_zero_at_zero(backend):
    x = tg.Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True, backend=backend)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])
