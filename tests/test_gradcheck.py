"""gradcheck itself: it must catch wrong backwards (test-only ops below), report where and by how
much, refuse inputs it cannot check honestly, and handle several inputs and outputs."""

import ast
import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.autograd import Function


class SquareMissingFactor(Function):
    """y = x^2 with a wrong backward: dL/dx = dL/dy * x (the factor 2 is missing)."""

    name = "square_missing_factor"

    def forward(self, x):
        self.saved = (x,)
        return x * x

    def backward(self, grad):
        (x,) = self.saved
        return (grad * x,)


class ScaleOffByOneAt(Function):
    """y = 3x with a backward that is right everywhere except one element, off by +1."""

    name = "scale_off_at_one_element"
    where = None  # the index of the element whose gradient is off

    def forward(self, x):
        return 3 * x

    def backward(self, grad):
        d = 3 * grad
        d[self.where] += 1.0
        return (d,)


class DoubleWithReversedBackward(Function):
    """y = 2x (1-D) with backward 2 * reversed(dL/dy): right for dL/dy = ones, wrong otherwise.

    A check that only backpropagates sum(y) (upstream gradient of ones) cannot see this bug.
    """

    name = "double_reversed_backward"

    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        return (2 * grad[::-1],)


class MulSwappedGradients(Function):
    """y = a * b with the two input gradients swapped: dL/da = dL/dy * a (should be * b)."""

    name = "mul_swapped"

    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        return grad * a, grad * b


class NaNBackward(Function):
    name = "nan_backward"

    def forward(self, x):
        return x + 0.0

    def backward(self, grad):
        return (grad * np.nan,)


def leaf(array, name=None):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True, name=name)


def parse_report(message):
    """(input label, worst element, tape value, finite-difference value) from a GradcheckError."""
    found = re.search(
        r"input (.+?) \(shape .*?worst element (\(.*?\)): tape (\S+), finite differences (\S+) ", message
    )
    assert found, message
    label, where, tape, numeric = found.groups()
    return label, ast.literal_eval(where), float(tape.rstrip(",")), float(numeric)


def test_a_correct_op_passes():
    x = leaf(np.random.default_rng(0).standard_normal((3, 2)))
    assert tg.gradcheck(lambda x: x * x, [x]) is True


def test_missing_factor_is_caught_and_reported():
    x = leaf(np.random.default_rng(1).uniform(0.5, 1.5, (2, 3)), name="x")
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x: SquareMissingFactor.apply(x), [x])
    label, where, tape, numeric = parse_report(str(info.value))
    assert label == "0 ('x')"
    assert len(where) == 2 and 0 <= where[0] < 2 and 0 <= where[1] < 3
    # The numeric gradient is twice what the broken backward gives, at the reported element.
    np.testing.assert_allclose(numeric, 2 * tape, rtol=1e-6)
    assert "(2, 3)" in str(info.value)


def test_error_in_one_element_is_found_there():
    x = leaf(np.random.default_rng(2).standard_normal((3, 4)))
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x: ScaleOffByOneAt.apply(x, where=(1, 2)), [x])
    label, where, tape, numeric = parse_report(str(info.value))
    assert label == "0" and where == (1, 2)
    np.testing.assert_allclose(tape - numeric, 1.0, rtol=1e-6)


def test_the_wrong_input_is_named():
    a, b = leaf([1.0, 2.0], name="a"), leaf([3.0, -1.0], name="b")
    with pytest.raises(tg.GradcheckError, match=r"input 0 \('a'\)"):
        tg.gradcheck(lambda a, b: MulSwappedGradients.apply(a, b), [a, b])
    # With a correct a-gradient the error moves to b: only inputs that require grad are checked.
    a_const = tg.Tensor(np.array([1.0, 2.0]))
    with pytest.raises(tg.GradcheckError, match=r"input 1 \('b'\)"):
        tg.gradcheck(lambda a, b: MulSwappedGradients.apply(a, b), [a_const, b])


def test_random_upstream_gradient_catches_what_sum_would_miss():
    x = leaf([0.1, 0.2, 0.3, 0.4])
    # Backpropagating sum(y) (upstream gradient of ones) the reversed backward looks right:
    y = DoubleWithReversedBackward.apply(x)
    y.backward(np.ones(4))
    np.testing.assert_allclose(x.grad.numpy(), [2.0] * 4)
    x.grad = None
    # gradcheck's random upstream gradient is not symmetric, so it sees the bug.
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: DoubleWithReversedBackward.apply(x), [x])


def test_non_finite_tape_gradient_is_caught():
    with pytest.raises(tg.GradcheckError, match="nan"):
        tg.gradcheck(lambda x: NaNBackward.apply(x), [leaf([1.0, 2.0])])


def test_float32_inputs_are_refused():
    x = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="w")
    with pytest.raises(tg.DTypeError, match=r"input 0 \('w'\) is float32"):
        tg.gradcheck(lambda x: x * 2.0, [x])


def test_no_input_requires_grad():
    with pytest.raises(tg.GradcheckError, match="no input requires grad"):
        tg.gradcheck(lambda x: x * 2.0, [tg.Tensor(np.ones(2))])


def test_non_tensor_and_constant_inputs_are_passed_through():
    x = leaf([1.0, 2.0])
    c = tg.Tensor(np.array([3.0, 4.0]))
    assert tg.gradcheck(lambda x, c, k: x * c * k, [x, c, 2.5])


def test_a_single_tensor_may_be_passed_without_a_list():
    assert tg.gradcheck(lambda x: x.tanh(), leaf([0.1, -0.3]))


def test_several_outputs():
    a, b = leaf([[0.5, -1.0], [2.0, 0.3]]), leaf([1.5, -0.5])
    assert tg.gradcheck(lambda a, b: (a * b, (a + b).tanh(), a.sum()), [a, b])


def test_several_outputs_with_a_wrong_one():
    x = leaf([0.5, 1.0, 1.5])
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: (x.tanh(), SquareMissingFactor.apply(x)), [x])


def test_output_that_does_not_need_grad():
    """An output that does not depend on a checked input still counts (its gradient is zero)."""
    x = leaf([0.5, 1.0])
    c = tg.Tensor(np.array([2.0, 3.0]))
    assert tg.gradcheck(lambda x, c: (x * 2.0, c * 3.0), [x, c])


def test_input_that_the_output_ignores():
    x, unused = leaf([0.5, 1.0]), leaf([7.0])
    assert tg.gradcheck(lambda x, unused: x.tanh(), [x, unused])


def test_inputs_and_grads_are_left_as_they_were():
    x = leaf([0.5, -1.0])
    before = x.numpy().copy()
    x.grad = tg.Tensor(np.array([10.0, 20.0]))
    tg.gradcheck(lambda x: (x * x).tanh(), [x])
    np.testing.assert_array_equal(x.numpy(), before)
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 20.0])


def test_tolerances_are_respected():
    """A 1% error passes with rtol=5e-2 and fails with the default rtol=1e-3."""

    class OnePercentOff(Function):
        name = "one_percent_off"

        def forward(self, x):
            return x * 1.0

        def backward(self, grad):
            return (grad * 1.01,)

    x = leaf(np.random.default_rng(3).uniform(1.0, 2.0, 5))
    assert tg.gradcheck(lambda x: OnePercentOff.apply(x), [x], rtol=5e-2)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: OnePercentOff.apply(x), [x])


def test_gradcheck_on_every_backend(backend):
    x = tg.Tensor(np.array([[0.5, -1.0], [0.25, 2.0]]), requires_grad=True, backend=backend)
    w = tg.Tensor(np.array([[1.0, 0.5], [-0.5, 1.0]]), requires_grad=True, backend=backend)
    assert tg.gradcheck(lambda x, w: (x @ w).tanh().sum(axis=0), [x, w])
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: SquareMissingFactor.apply(x), [x])
