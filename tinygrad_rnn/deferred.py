"""A weight's gradient over many time steps, summed as one matrix product instead of one per step.

Every step of a recurrent layer multiplies by the same W (h_{t-1} @ W_hh^T), so backward gives W
one gradient per step, a_t^T @ g_t (a_t = h_{t-1}, g_t = dL/d(h_{t-1} W^T)), and adds them up:
T small products and T additions into a (G*H, H) array, which at H = 512 cost more than the rest
of the step. Their sum is one product of the stacked factors,

    sum_t a_t^T @ g_t = [a_1; a_2; ...; a_T]^T @ [g_1; g_2; ...; g_T],

which is how a hand-written BPTT (and cuDNN) computes it. So MatMul's backward hands its second
input a DeferredProduct (a, g) instead of a^T @ g (when that product is large: MIN_SIZE); the walk gathers the products that
arrive for one tensor and multiplies them out when the tensor's gradient is complete (or every
BLOCK of them, which bounds the memory the stacking takes). The value is the same sum, added up
in another order: float round-off apart, the gradients do not change.
"""

from .backend import get_array_module

BLOCK = 32  # products stacked into one matmul at most: the stacked copies stay small
# Products with fewer elements than this are multiplied out at once. Measured (A/B in one process,
# LSTM and GRU layers, float32): deferring saves 5-25 ms of a 100-200 ms step at H = 256-512
# (a^T @ g of 256K-1M elements), is even at H = 128 (64K) and costs 3-7 ms at H = 64, T = 1000
# (16K), where adding a small product into a small array right away is cheaper than keeping it.
MIN_SIZE = 1 << 16


def weight_gradient(a, g):
    """dL/db = a^T @ g for y = a @ b (2-D): a DeferredProduct when it is large enough to pay."""
    if a.shape[1] * g.shape[1] >= MIN_SIZE:
        return DeferredProduct(a, g)
    return a.T @ g


class DeferredProduct:
    """The gradient a_1^T @ g_1 + a_2^T @ g_2 + ... (+ `dense`, gradients that came as arrays),
    kept as its factors until `value()` is needed. Each backward call makes its own: the walk
    may merge others into it."""

    __slots__ = ("lefts", "rights", "dense")

    def __init__(self, a, g):
        self.lefts = [a]
        self.rights = [g]
        self.dense = None

    @property
    def shape(self):
        return (self.lefts[0].shape[1], self.rights[0].shape[1]) if self.lefts else self.dense.shape

    def merge(self, other):
        """self + other (a DeferredProduct or an array), gathered into self; returns self."""
        if type(other) is DeferredProduct:
            self.lefts.extend(other.lefts)
            self.rights.extend(other.rights)
            if other.dense is not None:
                self._add_dense(other.dense)
            if len(self.lefts) >= BLOCK:
                self._add_dense(self._product())
        else:
            self._add_dense(other)
        return self

    def value(self):
        """The sum as one array (computed once; the factors are then let go)."""
        if self.lefts:
            self._add_dense(self._product())
        return self.dense

    def _product(self):
        lefts, rights = self.lefts, self.rights
        self.lefts, self.rights = [], []
        if len(lefts) == 1:
            return lefts[0].T @ rights[0]
        xp = get_array_module(lefts[0])
        return xp.concatenate(lefts, axis=0).T @ xp.concatenate(rights, axis=0)

    def _add_dense(self, array):
        # A new array, never one added into in place: a gradient that came as an array may be
        # shared with another input (add hands one array to both of its inputs).
        self.dense = array if self.dense is None else self.dense + array


def materialized(grad):
    """`grad` as an array: a DeferredProduct multiplied out, anything else as it is."""
    return grad.value() if type(grad) is DeferredProduct else grad
