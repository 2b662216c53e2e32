"""GRUCell: the gated recurrent unit (Cho et al. 2014) in PyTorch's form and Cho's, and the
minimal gated unit."""

from .cell_base import RecurrentCell, named
from .declaration import CellDeclaration

VARIANTS = ("pytorch", "cho", "mgu")


def gru_variant(name):
    """The canonical spelling of a GRU variant name (case does not matter)."""
    if isinstance(name, str) and name.lower() in VARIANTS:
        return name.lower()
    raise ValueError(f"GRUCell: unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")


class GRUCell(RecurrentCell):
    """GRUCell(input_size, hidden_size, bias=True, variant='pytorch', dtype=None, backend=None)

    variant='pytorch' (the default) is PyTorch's nn.GRUCell, gate rows r, z, n:

        r_t = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)     reset gate
        z_t = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)     update gate
        n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))  reset AFTER the matmul
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}                          (... + zh_t)

    variant='cho' is Cho et al. (2014), the reset applied BEFORE the matmul:

        n_t = tanh(x_t W_in^T + b_in + (r_t * h_{t-1}) W_hn^T + b_hn)
        h_t = z_t * h_{t-1} + (1 - z_t) * n_t                           (zh_t + ...)

    (r_t, z_t as above). Same parameters as 'pytorch', a different function of them.

    variant='mgu' is the minimal gated unit (Zhou et al. 2016), one gate f and rows f, n:

        f_t = sigmoid(x_t W_if^T + h_{t-1} W_hf^T + b_f)
        n_t = tanh(x_t W_in^T + (f_t * h_{t-1}) W_hn^T + b_n)
        h_t = (1 - f_t) * h_{t-1} + f_t * n_t                           (fh_t + ...)

    with b = b_ih + b_hh. weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H,), G = 3
    (2 for 'mgu'), all ~ U(-1/sqrt(H), 1/sqrt(H)). Call: `h_t = cell(x_t, h_prev)`.

    h_t is carried along an additive path: zh_t = z_t * h_{t-1} (MGU: fh_t = (1 - f_t) * h_{t-1})
    goes straight into the sum, as the LSTM's f_t * c_{t-1} does (`cell.declaration`).
    """

    replayable = True  # see RecurrentCell.replayable

    def __init__(self, input_size, hidden_size, bias=True, variant="pytorch", dtype=None, backend=None):
        variant = gru_variant(variant)
        n_gates = 2 if variant == "mgu" else 3
        super().__init__(input_size, hidden_size, bias, n_gates=n_gates, dtype=dtype, backend=backend)
        self.variant = variant
        self.gate_names = ("f", "n") if variant == "mgu" else ("r", "z", "n")
        if variant == "mgu":
            self.declaration = CellDeclaration(
                states=("h_t",), carried="h_t", carousel_term="fh_t", carousel_factor="1 - f_t",
                gates=("f_t", "n_t", "fh_t"), name="MGU cell",
            )
        else:
            self.declaration = CellDeclaration(
                states=("h_t",), carried="h_t", carousel_term="zh_t", carousel_factor="z_t",
                gates=("r_t", "z_t", "n_t", "zh_t"), name="GRU cell",
            )

    def project_input(self, x):
        """x W_ih^T + b_ih (+ b_hh, except in the PyTorch form, whose b_hn sits inside r * (.))."""
        if self.variant == "pytorch":
            projection = x @ self.weight_ih.T
            return projection + self.bias_ih if self.bias else projection
        return super().project_input(x)

    def recurrent_weights(self):
        weights = super().recurrent_weights()
        if self.variant != "pytorch":
            # The candidate's matmul takes a gated h, so its columns are used on their own.
            gated = (len(self.gate_names) - 1) * self.hidden_size
            weights.hh_gates, weights.hh_n = weights.hh.split([gated, self.hidden_size], axis=1)
        return weights

    def step(self, x_proj, h, weights):
        """h_t from x_proj = project_input(x_t) and h_{t-1}."""
        if self.variant == "pytorch":
            return self._step_pytorch(x_proj, h, weights)
        if self.variant == "cho":
            return self._step_cho(x_proj, h, weights)
        return self._step_mgu(x_proj, h, weights)

    def _step_pytorch(self, x_proj, h, weights):
        x_r, x_z, x_n = x_proj.split(self.hidden_size, axis=-1)
        recurrent = h @ weights.hh
        if self.bias:
            recurrent = recurrent + self.bias_hh
        h_r, h_z, h_n = recurrent.split(self.hidden_size, axis=-1)
        r_t = named((x_r + h_r).sigmoid(), "r_t")
        z_t = named((x_z + h_z).sigmoid(), "z_t")
        n_t = named((x_n + r_t * h_n).tanh(), "n_t")
        zh_t = named(z_t * h, "zh_t")  # what the cell keeps of h_{t-1}
        h_t = named((1 - z_t) * n_t + zh_t, "h_t")
        return h_t

    def _step_cho(self, x_proj, h, weights):
        x_r, x_z, x_n = x_proj.split(self.hidden_size, axis=-1)
        h_r, h_z = (h @ weights.hh_gates).split(self.hidden_size, axis=-1)
        r_t = named((x_r + h_r).sigmoid(), "r_t")
        z_t = named((x_z + h_z).sigmoid(), "z_t")
        n_t = named((x_n + (r_t * h) @ weights.hh_n).tanh(), "n_t")
        zh_t = named(z_t * h, "zh_t")
        h_t = named(zh_t + (1 - z_t) * n_t, "h_t")
        return h_t

    def _step_mgu(self, x_proj, h, weights):
        x_f, x_n = x_proj.split(self.hidden_size, axis=-1)
        f_t = named((x_f + h @ weights.hh_gates).sigmoid(), "f_t")
        n_t = named((x_n + (f_t * h) @ weights.hh_n).tanh(), "n_t")
        fh_t = named((1 - f_t) * h, "fh_t")  # (1 - f_t) * h_{t-1}: what the cell keeps
        h_t = named(fh_t + f_t * n_t, "h_t")
        return h_t

    def _describe(self):
        if self.__dict__.get("variant", "pytorch") == "pytorch":
            return super()._describe()
        return f"GRUCell({self.input_size}, {self.hidden_size}, variant={self.variant!r})"

    def extra_repr(self):
        return super().extra_repr() + f", variant={self.variant!r}"
