"""Deriving the LSTM as R2RT (2016) does: a prototype that drifts, three bounded fixes, the LSTM.

R2RT's "Written Memories: Understanding, Deriving and Extending the LSTM" builds a prototype from a
write gate i, a read gate o and a forget gate f (s_t = f_t * s_{t-1} + i_t * s~_t, the gates read
the raw state), finds that its state drifts without bound, and bounds it in three ways: divide the
new state by sqrt(Var + 1) (the normalized prototype), the GRU (a convex mix, never outside
[-1, 1]), or read the state only through tanh (the pseudo LSTM). Hochreiter & Schmidhuber (1997,
section 4) met the same drift in the first LSTM and started its input gate shut (a negative bias).

This script measures, side by side, for the prototype, the normalized prototype, the pseudo LSTM,
the GRU (Cho's form, the one R2RT writes), the LSTM (PyTorch's, with a forget gate) and the 1997
LSTM (no forget gate) with input-gate bias 0 and -3:

1. drift: the carried state s_t (the LSTM's c_t, the GRU's h_t) over one long input stream that
   is never reset: mean |s_t| and the share of units with |s_t| > 3, where tanh' < 0.01;
2. gradient flow, from the tracer: ||dL/ds_t|| against the lag, from a fresh state and from the
   drifted one, and the carousel's share of the gradient passed back along s;
3. training on the adding problem (Arjovsky's form, tinygrad_rnn.data), two seeds;
4. the graphs of three unrolled steps of the prototype and the pseudo LSTM, state path in bold.

The initialisation (the same in all four parts): PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every
weight, and the gate that keeps the state starts open, bias +3 (f_t ~ 0.95: the forget gate of the
prototype, normalized prototype, pseudo LSTM and LSTM; the GRU's update gate z_t, which weighs
h_{t-1}). Long-lag tasks need a kept state (Gers et al. 2000; Jozefowicz et al. 2015 use +1), and
a kept state is where drift shows: with the default bias 0, f_t ~ 0.5 halves the state every step
and nothing drifts. The 1997 LSTM has no forget gate (f_t = 1) and drifts at any initialisation.
The stream's inputs are N(0.5, 1), leaning to one sign as in Hochreiter & Schmidhuber's account.

    python examples/derive_lstm.py            # 3000-step stream, T=30 adding problem, ~3-4 min
    python examples/derive_lstm.py --quick    # seconds: small sizes, checks the drift claims
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import data, nn, optim, viz
from tinygrad_rnn.gradients import trace_gradients
from _common import DEFAULT_OUT, Progress, check, out_dir, print_table, pyplot, save_figure

# key -> (label, make_cell/make_layer kind, constructor options, the gate that keeps the state)
MODELS = {
    "prototype": ("prototype", "prototype", {}, "f"),
    "normalized": ("normalized prototype", "prototype-norm", {}, "f"),
    "pseudo": ("pseudo LSTM", "pseudo-lstm", {}, "f"),
    "gru": ("GRU (Cho)", "gru-cho", {}, "z"),
    "lstm": ("LSTM", "lstm", {}, "f"),
    "lstm1997": ("LSTM 1997, b_i = 0", "lstm-1997", {"input_bias": 0.0}, None),
    "lstm1997-3": ("LSTM 1997, b_i = -3", "lstm-1997", {"input_bias": -3.0}, None),
}
KEEP_BIAS = 3.0  # the initial bias of the gate that keeps the state (see the docstring)
INPUT_MEAN = 0.5  # the stream's lean to one sign
SATURATED = 3.0  # |s| > 3: tanh'(s) < 0.01


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=16, help="hidden size H for the drift and gradient parts (default 16)")
    p.add_argument("--stream", type=int, default=3000, help="length of the never-reset stream (default 3000)")
    p.add_argument("--trace-steps", type=int, default=100, help="steps the gradient is traced back over (default 100)")
    p.add_argument("--T", type=int, default=30, help="adding-problem sequence length (default 30)")
    p.add_argument("--train-hidden", type=int, default=32, help="hidden size for training (default 32)")
    p.add_argument("--train-steps", type=int, default=500, help="training steps per run (default 500)")
    p.add_argument("--batch", type=int, default=32, help="training batch (default 32)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--clip", type=float, default=1.0, help="clip the gradient norm to this (default 1.0)")
    p.add_argument("--seeds", type=int, default=2, help="training runs per model (default 2)")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma separated, from {','.join(MODELS)} (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="small sizes, a few seconds; checks the drift claims")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.stream, args.trace_steps = 8, 300, 20
        args.T, args.train_hidden, args.train_steps, args.batch = 8, 8, 30, 16
    if min(args.hidden, args.train_hidden, args.batch, args.seeds, args.train_steps) < 1:
        p.error("--hidden, --train-hidden, --batch, --seeds and --train-steps must be positive")
    if args.stream < 10 or args.trace_steps < 2 or args.T < 2:
        p.error("--stream must be at least 10, --trace-steps and --T at least 2")
    args.models = [m.strip() for m in args.models.split(",")]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        p.error(f"--models: unknown {unknown}; choose from {list(MODELS)}")
    if args.quick and args.models != list(MODELS):
        p.error("--quick checks claims about every model; run it without --models")
    return args


# ----------------------------------------------------------------------------------------------
# Building the models, all with the same initialisation


def initialise(cells, keep_gate):
    """Start the gate that keeps the state (None: the 1997 LSTM has none) at KEEP_BIAS."""
    for cell in cells:
        if keep_gate is not None:
            cell.init_gate_bias(keep_gate, KEEP_BIAS)


def make_cell(key, input_size, hidden, seed):
    _, kind, options, keep_gate = MODELS[key]
    np.random.seed(seed)
    cell = nn.make_cell(kind, input_size, hidden, dtype=np.float64, **options)
    initialise([cell], keep_gate)
    return cell


def carried(state):
    """The carried state s_t (c_t for the LSTM; the GRU's h_t) in what a cell returns."""
    return state[1] if isinstance(state, tuple) else state


# ----------------------------------------------------------------------------------------------
# 1. Drift


def drift(cell, stream):
    """Run `cell` over the stream (T, N, I), never reset; per step, mean |s_t|, the share of
    units with |s_t| > 3 and the largest |s_t|; and the final state (to trace from)."""
    state = None
    means, saturated, peaks = [], [], []
    with tg.no_grad():
        for x in stream:
            state = cell(tg.Tensor(x), state)
            s = np.abs(carried(state).numpy())
            means.append(s.mean())
            saturated.append((s > SATURATED).mean())
            peaks.append(s.max())
    final = tuple(t.numpy() for t in state) if isinstance(state, tuple) else state.numpy()
    return np.array(means), np.array(saturated), np.array(peaks), final


# ----------------------------------------------------------------------------------------------
# 2. Gradient flow


def trace(cell, xs, state):
    """The tracer over xs from `state` (None: zeros), loss = the sum of the last output: the norm
    of dL/ds_t for the declared carried state s, and the carousel's share of dL/ds_(t-1)."""
    result = trace_gradients(cell, xs, state=state, loss="last", jacobians=False)
    s = result.carousel_state  # the declared name of the carried state: 's', 'c' or 'h'
    return {"norms": result.grad_norm(s), "share": result.carousel_share(), "lags": result.lags}


# ----------------------------------------------------------------------------------------------
# 3. Training on the adding problem


class Model(nn.Module):
    """A recurrent layer over the sequence and a linear read-out of its last output."""

    def __init__(self, key, hidden):
        super().__init__()
        _, kind, options, keep_gate = MODELS[key]
        self.rnn = nn.make_layer(kind, 2, hidden, **options)
        initialise(self.rnn.cells, keep_gate)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(tg.Tensor(x.transpose(1, 0, 2)))  # (N, T, 2) -> time first
        return self.head(out[-1])


def test_mse(model, x, y):
    with tg.no_grad():
        return float(np.mean((model(x).numpy() - y) ** 2))


def train(key, args, seed, bar):
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    model = Model(key, args.train_hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    x_test, y_test = data.adding_problem(256 if args.quick else 1000, args.T, rng=rng)
    every = max(1, args.train_steps // 10)
    curve = [(0, test_mse(model, x_test, y_test))]
    for step in range(1, args.train_steps + 1):
        x, y = data.adding_problem(args.batch, args.T, rng=rng)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        if step % every == 0 or step == args.train_steps:
            curve.append((step, test_mse(model, x_test, y_test)))
        bar.update(1, model=key, loss=loss.item())
    return np.array(curve)


# ----------------------------------------------------------------------------------------------
# 4. Graphs of three unrolled steps


def draw_three_steps(key, out):
    """The graph of the layer over three steps (H=3, one sequence), loss = the sum of the last
    output, after backward; the carried state's path in bold, time running top to bottom."""
    _, kind, options, keep_gate = MODELS[key]
    np.random.seed(0)
    layer = nn.make_layer(kind, 2, 3, dtype=np.float64, **options)
    initialise(layer.cells, keep_gate)
    # x and s_0 require grad so that the ops reading them are recorded and they keep their names
    x = tg.Tensor(np.random.default_rng(0).standard_normal((3, 1, 2)), requires_grad=True, name="x")
    s_0 = tg.Tensor(np.zeros((1, 1, 3)), requires_grad=True, name="s_0")
    output, _ = layer(x, (None, s_0) if layer.state_names == ("h_0", "s_0") else s_0)
    loss = nn.named(output[-1].sum(), "L")
    viz.record_gradients(loss)
    loss.backward()
    graph = viz.draw_graph(loss, highlight="cec", rankdir="TB",
                           title=f"{MODELS[key][0]}: three steps; the path of the state s in bold")
    path = viz.save_graph(graph, str(out_dir(out) / f"derive_lstm_{key}_graph.png"))
    print(f"figure: {path}")
    return path


# ----------------------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    I, H, N = 4, args.hidden, 8
    stream = INPUT_MEAN + rng.standard_normal((args.stream, N, I))
    xs = INPUT_MEAN + rng.standard_normal((args.trace_steps, N, I))

    drifts, flows = {}, {}
    with Progress(len(args.models), "drift and gradient flow") as bar:
        for key in args.models:
            cell = make_cell(key, I, H, args.seed)
            means, saturated, peaks, final = drift(cell, stream)
            drifts[key] = (means, saturated, peaks)
            flows[key, "fresh"] = trace(cell, xs, None)
            flows[key, "drifted"] = trace(cell, xs, final)
            bar.update(1, model=key)

    runs = {}
    with Progress(len(args.models) * args.seeds * args.train_steps, "adding problem") as bar:
        for key in args.models:
            runs[key] = [train(key, args, args.seed + k, bar) for k in range(args.seeds)]

    T_stream, lag = args.stream, min(args.trace_steps - 1, 50)
    baseline = data.adding_baseline_mse("arjovsky", args.T)
    rows = []
    for key in args.models:
        label = MODELS[key][0]
        means, saturated, _ = drifts[key]
        fresh, drifted = flows[key, "fresh"], flows[key, "drifted"]
        share = drifted["share"]
        rows.append([
            label,
            f"{means[99 if T_stream > 100 else -1]:.2f}",
            f"{means[-1]:.2f}",
            f"{100 * saturated[-1]:.0f}%",
            f"{fresh['norms'][-1 - lag]:.1e}",
            f"{drifted['norms'][-1]:.1e}",
            f"{drifted['norms'][-1 - lag]:.1e}",
            f"{share.mean():.2f}",
            " / ".join(f"{r[-1, 1]:.4f}" for r in runs[key]),
        ])
    print_table(
        ["model", f"mean abs(s) t={min(100, T_stream)}", f"mean abs(s) t={T_stream}",
         f"abs(s) > {SATURATED:g} at t={T_stream}", f"dL/ds lag {lag}, fresh", "dL/ds lag 0, drifted",
         f"dL/ds lag {lag}, drifted", "carousel share, drifted", f"test MSE, seeds {args.seed}..{args.seed + args.seeds - 1}"],
        rows,
        title=(f"Drift on an N({INPUT_MEAN}, 1) stream (H={H}, {N} streams); gradient norms ||dL/ds_t|| over "
               f"{args.trace_steps} steps, loss = sum of the last output, from zeros (fresh) and from the "
               f"drifted state; adding problem T={args.T} (baseline MSE {baseline:.3f}), H={args.train_hidden}, "
               f"{args.train_steps} Adam steps, batch {args.batch}"),
    )
    print("s is the carried state: the LSTM's c_t, the GRU's h_t, R2RT's s_t. These are our measurements "
          "at this initialisation; R2RT's own numbers were not available to us.")

    plot_drift(drifts, args)
    plot_gradients(flows, args)
    plot_training(runs, baseline, args)
    for key in ("prototype", "pseudo"):
        if key in args.models:
            draw_three_steps(key, args.out)

    if args.quick:
        final = {key: drifts[key][0][-1] for key in MODELS}
        check(final["prototype"] > 3 * max(final["normalized"], final["pseudo"], final["gru"]),
              f"the prototype's state drifts ({final['prototype']:.2f}) past 3x the bounded fixes' "
              f"(normalized {final['normalized']:.2f}, pseudo {final['pseudo']:.2f}, GRU {final['gru']:.2f})")
        check(final["lstm1997-3"] < 0.5 * final["lstm1997"],
              f"input-gate bias -3 slows the 1997 LSTM's drift ({final['lstm1997-3']:.2f} vs {final['lstm1997']:.2f})")
        check(drifts["gru"][2].max() < 1, f"the GRU's state stays inside (-1, 1) (largest |h_t|: {drifts['gru'][2].max():.3f})")


def color(key):
    """The same colour for a model in every figure."""
    return f"C{list(MODELS).index(key)}"


def plot_drift(drifts, args):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    steps = np.arange(1, args.stream + 1)
    for key, (means, saturated, _) in drifts.items():
        style = "--" if key.startswith("lstm1997") else "-"
        ax1.semilogy(steps, means, style, color=color(key), lw=1.5, label=MODELS[key][0])
        ax2.plot(steps, 100 * saturated, style, color=color(key), lw=1.5, label=MODELS[key][0])
    ax1.set_xlabel("time step t of one stream, never reset")
    ax1.set_ylabel("mean |s_t| (log scale)")
    ax1.set_title(f"Internal state drift: inputs N({INPUT_MEAN}, 1), keep-gate bias +{KEEP_BIAS:g}")
    ax2.set_xlabel("time step t")
    ax2.set_ylabel(f"units with |s_t| > {SATURATED:g} (%)")
    ax2.set_title("Saturated units: tanh'(s) < 0.01 there")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    save_figure(fig, args.out, "derive_lstm_drift.png")


def plot_gradients(flows, args):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
    shown = [key for key in MODELS if (key, "fresh") in flows]
    for key in shown:
        style = "--" if key.startswith("lstm1997") else "-"
        for ax, start in zip(axes[:2], ("fresh", "drifted")):
            flow = flows[key, start]
            norms = np.where(flow["norms"] > 0, flow["norms"], np.nan)
            ax.semilogy(flow["lags"], norms, style, color=color(key), lw=1.5, label=MODELS[key][0])
        axes[2].plot(flows[key, "drifted"]["lags"], flows[key, "drifted"]["share"], style, color=color(key), lw=1.5,
                     label=MODELS[key][0])
    for ax, start in zip(axes[:2], ("fresh", "drifted")):
        # a curve that is zero everywhere cannot sit on a log axis: say so instead
        silent = [MODELS[key][0] for key in shown if not np.any(flows[key, start]["norms"] > 0)]
        if silent:
            ax.text(0.02, 0.02, "exactly 0 at every lag: " + ", ".join(silent), transform=ax.transAxes, fontsize=8)
    axes[0].set_title("||dL/ds_t|| from a fresh (zero) state")
    axes[1].set_title(f"||dL/ds_t|| from the state after {args.stream} drift steps")
    axes[2].set_title("carousel share of dL/ds_(t-1), from the drifted state")
    for ax in axes[:2]:
        ax.set_xlabel("lag T-1-t (the loss is on the last output)")
        ax.set_ylabel("||dL/ds_t|| (log scale)")
    axes[2].set_xlabel("lag T-1-t")
    axes[2].set_ylabel("|carousel| / (|carousel| + |rest|)")
    axes[2].set_ylim(-0.02, 1.02)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    save_figure(fig, args.out, "derive_lstm_gradients.png")


def plot_training(runs, baseline, args):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for key, curves in runs.items():
        for s, curve in enumerate(curves):
            ax.plot(curve[:, 0], curve[:, 1], "-" if s == 0 else ":", color=color(key), lw=1.5,
                    label=MODELS[key][0] if s == 0 else None)
    ax.axhline(baseline, color="k", ls="--", lw=1, label=f"baseline {baseline:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("test MSE (log scale)")
    ax.set_title(f"Adding problem, T={args.T}: seed {args.seed} solid, the next dotted")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, args.out, "derive_lstm_training.png")


if __name__ == "__main__":
    main()
