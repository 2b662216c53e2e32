"""Exploding gradients, and what clipping the gradient norm does to training (Pascanu et al. 2013).

A tanh RNN whose W_hh has a large singular value (s = 3 here, past the s > 1/gamma = 1 that exploding
needs) is trained with plain SGD on the adding problem. Without clipping the gradient norm soon
spikes to thousands of times its size at the start, where the loss surface has a "cliff"; an SGD
step on a spike throws the weights far away, and training never recovers. Two runs from the same initial weights and the
same batches differ only in one line,

    nn.utils.clip_grad_norm_(parameters, max_norm)     # if ||g|| > max_norm: g <- max_norm * g / ||g||

and the script plots the gradient norm and the loss of both, step by step.

    python examples/exploding_gradients.py            # 400 steps per run, a few seconds
    python examples/exploding_gradients.py --quick    # a few seconds
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import data, nn, optim
from _common import DEFAULT_OUT, Progress, check, print_table, pyplot, save_figure


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--T", type=int, default=50, help="adding-problem length (default 50)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    p.add_argument("--scale", type=float, default=3.0, help="largest singular value of W_hh at init (default 3)")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (default 0.05)")
    p.add_argument("--max-norm", type=float, default=1.0, help="clipping threshold (default 1.0)")
    p.add_argument("--steps", type=int, default=400, help="training steps per run (default 400)")
    p.add_argument("--batch", type=int, default=32, help="sequences per step (default 32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="T=30, 80 steps per run")
    args = p.parse_args(argv)
    if args.quick:
        args.T, args.steps = 30, 80
    if args.T < 2 or args.hidden < 1 or args.steps < 10 or args.batch < 1 or args.max_norm <= 0:
        p.error("--T >= 2, --steps >= 10, --hidden, --batch and --max-norm positive")
    return args


def train(args, clip):
    """One run; returns the gradient norm (before clipping) and the loss at every step."""
    rng = np.random.default_rng(args.seed)  # the same batches for both runs
    np.random.seed(args.seed)  # the same initial weights
    H = args.hidden
    rnn = nn.RNN(2, H)
    head = nn.Linear(H, 1)
    w = rng.standard_normal((H, H))
    rnn.weight_hh_l0.data[...] = (w * args.scale / np.linalg.svd(w, compute_uv=False)[0]).astype(np.float32)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = optim.SGD(params, lr=args.lr)
    norms, losses = [], []
    with Progress(args.steps, "clipped" if clip else "unclipped") as bar, np.errstate(over="ignore", invalid="ignore"):
        for step in range(args.steps):
            x, y = data.adding_problem(args.batch, args.T, rng=rng)
            out, _ = rnn(tg.Tensor(x.transpose(1, 0, 2)))
            loss = F.mse_loss(head(out[-1]), y)
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(params, args.max_norm if clip else float("inf"))
            opt.step()
            norms.append(norm)
            losses.append(loss.item())
            bar.update(1, loss=losses[-1], grad_norm=norm)
            if not np.isfinite(losses[-1]) or not np.isfinite(norm):
                break  # diverged: every later step is inf or nan
    return np.array(norms), np.array(losses)


def main(argv=None):
    args = parse_args(argv)
    runs = {"without clipping": train(args, clip=False), f"clip_grad_norm_(max_norm={args.max_norm:g})": train(args, clip=True)}
    baseline = data.adding_baseline_mse("arjovsky")

    rows = []
    for name, (norms, losses) in runs.items():
        finite = np.isfinite(losses)
        diverged = len(losses) < args.steps or not finite.all()
        tail = losses[-50:]
        rows.append([
            name, f"{np.median(norms[np.isfinite(norms)]):.3g}", f"{np.nanmax(np.where(np.isfinite(norms), norms, np.nan)):.3g}",
            f"{int((norms > args.max_norm).sum())}", f"{np.mean(losses[:20]):.3g}",
            "diverged at step %d" % len(losses) if diverged else f"{np.mean(tail):.3f}",
        ])
    print_table(["run", "median grad norm", "largest finite grad norm", f"steps with norm > {args.max_norm:g}",
                 "loss, first 20 steps", "loss, last 50 steps"],
                rows, title=f"tanh RNN, s(W_hh)={args.scale:g}, adding problem T={args.T}, SGD lr {args.lr}, "
                            f"{args.steps} steps (baseline MSE {baseline:.3f})")
    print("Paper (Pascanu et al. 2013): rare gradient spikes throw plain SGD off a cliff in the loss "
          "surface; rescaling the gradient when its norm passes a threshold keeps the step bounded.")

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for (name, (norms, losses)), color in zip(runs.items(), ["C3", "C0"]):
        steps = np.arange(1, len(norms) + 1)
        ax1.semilogy(steps, norms, color=color, lw=1, label=name)
        ax2.semilogy(steps, losses, color=color, lw=1, label=name)
        if len(norms) < args.steps:
            ax1.axvline(len(norms), color=color, ls=":", lw=1)
            ax2.axvline(len(norms), color=color, ls=":", lw=1)
    ax1.axhline(args.max_norm, color="k", ls="--", lw=1, label=f"threshold {args.max_norm:g}")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("gradient norm before clipping")
    ax1.set_title("Gradient norm per step")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3)
    ax2.axhline(baseline, color="k", ls="--", lw=1, label=f"baseline {baseline:.3f}")
    ax2.set_xlabel("training step")
    ax2.set_ylabel("training loss (MSE)")
    ax2.set_title("Loss per step (a dotted line marks divergence)")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3)
    save_figure(fig, args.out, "exploding_gradients.png")

    clipped_losses = list(runs.values())[1][1]
    check(np.isfinite(clipped_losses).all() and np.mean(clipped_losses[-10:]) < np.mean(clipped_losses[:10]),
          "with clipping the loss stays finite and falls")
    unclipped_norms = list(runs.values())[0][0]
    check(np.nanmax(np.where(np.isfinite(unclipped_norms), unclipped_norms, np.inf)) > 10 * args.max_norm,
          "without clipping the gradient norm spikes past 10x the threshold")


if __name__ == "__main__":
    main()
