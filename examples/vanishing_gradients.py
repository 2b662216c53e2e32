"""Vanishing gradients in a tanh RNN, against Pascanu, Mikolov & Bengio's (2013) bound.

For h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b), one step back multiplies the gradient by
W_hh^T diag(tanh'(a_t)), whose norm is at most gamma * s, with s the largest singular value of W_hh
and gamma = 1 the largest slope of tanh. So for a loss on the last state,

    ||dL/dh_{T-k}|| <= (gamma * s)^k * ||dL/dh_T||,

and s < 1/gamma is *sufficient* for the gradient to vanish geometrically with the lag k.
s > 1/gamma is only *necessary* for it to explode. This script scales W_hh to several values of s,
measures ||dL/dh_t|| at every step with retain_grad(), and draws it against the lag with the bound;
an LSTM and a GRU with PyTorch's initialisation are drawn beside them.

    python examples/vanishing_gradients.py            # T = 100, a few seconds
    python examples/vanishing_gradients.py --quick    # T = 30, a few seconds, checks the bound
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from _common import DEFAULT_OUT, Progress, check, print_table, pyplot, save_figure


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100, help="sequence length T (default 100)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size H (default 32)")
    p.add_argument("--batch", type=int, default=16, help="sequences averaged over (default 16)")
    p.add_argument("--scales", default="0.5,0.9,1.0,1.5,3.0",
                   help="largest singular values of W_hh to try, comma separated (default 0.5,0.9,1.0,1.5,3.0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="T = 30: a few seconds; checks the bound")
    args = p.parse_args(argv)
    if args.quick:
        args.steps = 30
    try:
        args.scales = [float(s) for s in args.scales.split(",")]
    except ValueError:
        p.error(f"--scales must be numbers separated by commas, got {args.scales!r}")
    if args.steps < 2 or args.hidden < 1 or args.batch < 1:
        p.error("--steps must be at least 2, --hidden and --batch positive")
    return args


def gradient_norms(cell, xs, v):
    """Unroll `cell` over xs (T, N, I), put the loss L = sum(v * h_T) on the last state, and
    return ||dL/dh_t|| for every t and sequence, an array (T, N)."""
    state = None
    hs = []
    for t in range(xs.shape[0]):
        with tg.time_step(t):
            state = cell(tg.Tensor(xs[t]), state)
        h = state[0] if isinstance(state, tuple) else state
        h.retain_grad()  # keep dL/dh_t on this intermediate tensor after backward
        hs.append(h)
    loss = (hs[-1] * tg.Tensor(v)).sum()
    loss.backward()
    return np.stack([np.linalg.norm(h.grad.numpy(), axis=1) for h in hs])


def rnn_with_scale(I, H, scale, rng):
    """A tanh RNNCell whose W_hh has largest singular value `scale`."""
    cell = nn.RNNCell(I, H).double()
    w = rng.standard_normal((H, H))
    w *= scale / np.linalg.svd(w, compute_uv=False)[0]
    cell.weight_hh.data[...] = w
    return cell


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)  # the cells' initialisation draws from NumPy's global generator
    T, H, N, I = args.steps, args.hidden, args.batch, 4
    xs = rng.standard_normal((T, N, I))
    v = rng.standard_normal((N, H))

    models = [(f"RNN s={s:g}", rnn_with_scale(I, H, s, rng), s) for s in args.scales]
    models += [
        ("LSTM", nn.LSTMCell(I, H).double(), None),
        ("LSTM forget bias 1", nn.LSTMCell(I, H, forget_bias=1.0).double(), None),
        ("LSTM 1997 (no forget gate)", nn.LSTMCell(I, H, variant="1997").double(), None),
        ("GRU", nn.GRUCell(I, H).double(), None),
    ]

    curves = {}
    with Progress(len(models), "cells") as bar:
        for name, cell, s in models:
            norms = gradient_norms(cell, xs, v)
            ratio = norms / norms[-1]  # ||dL/dh_t|| / ||dL/dh_T||, per sequence
            curves[name] = (ratio, s)
            bar.update(cell=name)

    lags = np.arange(T)[::-1]  # lag of step t is T-1-t
    show = [k for k in (10, 25, 50, 99) if k < T]
    rows = []
    bound_holds = True
    for name, (ratio, s) in curves.items():
        # geometric mean over sequences: the ratios span many orders of magnitude
        typical = np.exp(np.mean(np.log(ratio + 1e-300), axis=1))
        row = [name, "-" if s is None else f"{s:g}"]
        for k in show:
            row.append(f"{typical[T - 1 - k]:.2e}")
        if s is not None:
            bound = s ** lags[:, None]
            holds = bool(np.all(ratio <= bound * (1 + 1e-9)))
            bound_holds &= holds
            row += [" / ".join(f"{s ** k:.1e}" for k in show), "yes" if holds else "NO"]
        else:
            row += ["(no such bound)", "-"]
        rows.append(row)

    print_table(
        ["cell", "s = sigma_max(W_hh)"] + [f"ratio at lag {k}" for k in show] + ["bound (gamma*s)^lag", "bound holds"],
        rows,
        title=f"||dL/dh_(T-lag)|| / ||dL/dh_T||, tanh RNN vs LSTM and GRU, T={T}, H={H} "
              f"(geometric mean over {N} sequences)",
    )
    print("Paper (Pascanu et al. 2013): s < 1/gamma = 1 is sufficient for the gradient to vanish "
          "(it must lie under the bound); s > 1 is necessary, not sufficient, for it to explode.")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(args.scales)))
    for color, (name, (ratio, s)) in zip(list(colors) + ["C3", "C4", "C5", "C1"], curves.items()):
        typical = np.exp(np.mean(np.log(ratio + 1e-300), axis=1))
        style = "-" if s is not None else "-."
        ax.semilogy(lags, typical, style, color=color, lw=2, label=name)
        if s is not None and s < 1:
            ax.semilogy(lags, s ** lags.astype(float), ":", color=color, lw=1.2, label=f"bound {s:g}^lag")
    ax.set_xlabel("lag T - t (steps back from the loss)")
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
    ax.set_title(f"Gradient reaching step t from a loss at step T={T} (H={H})")
    ax.set_ylim(bottom=max(1e-30, ax.get_ylim()[0]))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    save_figure(fig, args.out, "vanishing_gradients.png")

    check(bound_holds, "every measured ratio lies under Pascanu's bound (gamma*s)^lag")
    if args.quick:
        smallest = min(args.scales)
        ratio = curves[f"RNN s={smallest:g}"][0]
        check(np.all(ratio[0] <= smallest ** (T - 1) * (1 + 1e-9)),
              f"with s={smallest:g} the gradient at lag {T - 1} has shrunk at least {smallest:g}^{T - 1}")


if __name__ == "__main__":
    main()
