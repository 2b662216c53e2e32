"""The constant error carousel (Hochreiter & Schmidhuber 1997) and internal state drift (Gers et al. 2000).

Part 1, error flow. The 1997 LSTM has no forget gate: c_t = c_{t-1} + i_t * g_t, so the Jacobian
dc_t/dc_{t-1} along the cell state is the identity and an error put on c_T reaches every earlier
c_t unchanged: the carousel. The forget-gate LSTM (c_t = f_t * c_{t-1} + i_t * g_t) scales it by
f_t at every step back. With the loss on c_T only, this script measures ||dL/dc_t|| twice with
retain_grad(): along the carousel alone (h_{t-1} detached, so no error can leave the cell state)
and in full (error also flows through h_{t-1} and the gates).

Part 2, drift. On a continual input stream that is never reset, the 1997 cell state keeps adding
i_t * g_t and grows without bound; tanh(c_t) then saturates and the cell stops passing gradient.
The forget gate lets the cell decay its state, and |c_t| stays bounded.

    python examples/cec.py            # T = 1000 for the error flow, 5000 steps of drift, about 10 s
    python examples/cec.py --quick    # T = 100 and 500 steps, a few seconds
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from _common import DEFAULT_OUT, Progress, check, print_table, pyplot, save_figure


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1000, help="sequence length for the error flow (default 1000)")
    p.add_argument("--drift-steps", type=int, default=5000, help="length of the continual stream (default 5000)")
    p.add_argument("--hidden", type=int, default=16, help="hidden size H (default 16)")
    p.add_argument("--batch", type=int, default=8, help="sequences in the batch (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="T = 100 and 500 drift steps: a few seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.drift_steps = 100, 500
    if min(args.steps, args.drift_steps) < 10 or args.hidden < 1 or args.batch < 1:
        p.error("--steps and --drift-steps must be at least 10, --hidden and --batch positive")
    return args


def cell_state_gradients(cell, xs, v, carousel_only):
    """||dL/dc_t|| for every t (array (T,), mean over the batch) with L = sum(v * c_T).

    carousel_only: feed h_{t-1}.detach() to step t, so the only way back is c_t -> c_{t-1}."""
    h, c = None, None
    cs = []
    for t in range(xs.shape[0]):
        state = None if h is None else ((h.detach() if carousel_only else h), c)
        with tg.time_step(t):
            h, c = cell(tg.Tensor(xs[t]), state)
        c.retain_grad()
        cs.append(c)
    (cs[-1] * tg.Tensor(v)).sum().backward()
    return np.array([np.linalg.norm(c.grad.numpy(), axis=1).mean() for c in cs])


def drift(cell, stream):
    """Run `cell` over the stream (T, N, I) without ever resetting it; return, for every step, the
    mean |c_t| and the share of units with |c_t| > 3 (where tanh' < 0.01: saturated)."""
    h_c = None
    means, saturated = [], []
    with tg.no_grad():
        for t in range(stream.shape[0]):
            h_c = cell(tg.Tensor(stream[t]), h_c)
            c = np.abs(h_c[1].numpy())
            means.append(c.mean())
            saturated.append((c > 3).mean())
    return np.array(means), np.array(saturated)


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)
    T, H, N, I = args.steps, args.hidden, args.batch, 4
    cells = {
        "LSTM 1997 (no forget gate)": nn.LSTMCell(I, H, variant="1997").double(),
        "LSTM with forget gate": nn.LSTMCell(I, H).double(),
        "LSTM forget gate, bias 1": nn.LSTMCell(I, H, forget_bias=1.0).double(),
    }
    xs = rng.standard_normal((T, N, I))
    v = rng.standard_normal((N, H))

    flows = {}
    with Progress(2 * len(cells), "error flow") as bar:
        for name, cell in cells.items():
            for carousel_only in (True, False):
                flows[name, carousel_only] = cell_state_gradients(cell, xs, v, carousel_only)
                bar.update(cell=name[:12])

    lags = [k for k in (0, 10, 100, 500, 999) if k < T]
    rows = []
    for name in cells:
        for carousel_only in (True, False):
            g = flows[name, carousel_only]
            rows.append([name, "carousel only" if carousel_only else "full"] +
                        [f"{g[T - 1 - k]:.3e}" for k in lags])
    print_table(["cell", "path"] + [f"norm of dL/dc at lag {k}" for k in lags], rows,
                title=f"Error on c_T flowing back along the cell state (T={T}, H={H}, mean over {N} sequences)")
    print("Paper (Hochreiter & Schmidhuber 1997): along the carousel the error flow is constant; "
          "(Gers et al. 2000): the forget gate scales it by f_t at each step.")

    checkpoints = sorted({k for k in (10, 100, 1000, args.drift_steps) if k <= args.drift_steps})
    stream = rng.standard_normal((args.drift_steps, N, I))
    drifts = {}
    with Progress(len(cells), "drift") as bar:
        for name, cell in cells.items():
            drifts[name] = drift(cell, stream)
            bar.update(cell=name[:12])
    rows = [[name] + [f"{drifts[name][0][k - 1]:.2f} ({100 * drifts[name][1][k - 1]:.0f}%)" for k in checkpoints]
            for name in cells]
    print_table(["cell"] + [f"mean abs(c_t) (saturated) at t={k}" for k in checkpoints], rows,
                title="Internal state on a continual input stream, never reset")
    print("Paper (Gers et al. 2000): without a forget gate the state grows without bound on a "
          "continual stream; the forget gate lets the cell reset itself.")

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = ["C3", "C0", "C2"]
    for color, name in zip(colors, cells):
        ax1.semilogy(np.arange(T), flows[name, True], "--", color=color, lw=2, label=f"{name}: carousel only")
        ax1.semilogy(np.arange(T), flows[name, False], "-", color=color, lw=1, alpha=0.8, label=f"{name}: full")
    ax1.set_xlabel("time step t (the loss is on c_T)")
    ax1.set_ylabel("||dL/dc_t||")
    ax1.set_title(f"Error flowing back along the cell state, T={T}")
    ax1.set_ylim(bottom=max(1e-30, ax1.get_ylim()[0]))
    ax1.legend(fontsize=7)
    ax1.grid(True, alpha=0.3)

    for color, name in zip(colors, cells):
        ax2.plot(np.arange(1, args.drift_steps + 1), drifts[name][0], color=color, lw=1.5, label=name)
    ax2.set_xlabel("time step t of a stream that is never reset")
    ax2.set_ylabel("mean |c_t|")
    ax2.set_title("Internal state drift")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3)
    save_figure(fig, args.out, "cec.png")

    carousel_1997 = flows["LSTM 1997 (no forget gate)", True]
    check(np.allclose(carousel_1997, carousel_1997[-1], rtol=1e-9, atol=0),
          f"1997 LSTM: along the carousel ||dL/dc_t|| is constant over {T} steps (rtol 1e-9)")
    forget = flows["LSTM with forget gate", True]
    check(forget[0] < 1e-3 * forget[-1], "forget-gate LSTM: the carousel error decays by > 1000x over the sequence")
    last = args.drift_steps
    check(drifts["LSTM 1997 (no forget gate)"][0][-1] > 5 * drifts["LSTM with forget gate"][0][-1],
          f"after {last} steps the 1997 state is more than 5x larger than the forget-gate state")


if __name__ == "__main__":
    main()
