"""Greff et al.'s (2015) "LSTM: A Search Space Odyssey" in miniature: eight variants against vanilla.

Greff et al. took as "vanilla" the LSTM with forget gate and peepholes, and removed or changed one
part at a time: NIG (no input gate), NFG (no forget gate), NOG (no output gate), NIAF (no input
activation), NOAF (no output activation), NP (no peepholes), CIFG (coupled input and forget gate,
f = 1 - i), FGR (full gate recurrence). Over speech, handwriting and music data they found that
no variant beat vanilla significantly, and that the forget gate and the output activation were the
most critical parts.

Here every variant is trained the same way (same data, hidden size, optimiser, number of steps and
seeds) on a small task: next-character prediction on the shipped Moby-Dick chapters, with
truncated BPTT that carries the state from chunk to chunk (a continual stream, the setting where
the forget gate was introduced). The table gives the validation loss of each, next to vanilla's.
This is one small task and a few seeds, not the paper's 5,400 runs: read differences smaller
than the spread over seeds as no difference.

    python examples/lstm_variants.py               # 9 variants x 2 seeds x 400 chunks, ~2 min
    python examples/lstm_variants.py --quick       # 20 chunks each: checks vanilla learns, NOAF lags
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse
import time

import numpy as np

import tinygrad_rnn.functional as F
from tinygrad_rnn import data, nn, optim
from _char_model import CharModel, evaluate
from _common import DEFAULT_OUT, Progress, check, print_table, pyplot, save_figure

# variant -> (what changes, what Greff et al. 2015 found for it)
VARIANTS = {
    "peephole": ("vanilla: forget gate + peepholes", "the reference"),
    "NIG": ("no input gate (i = 1)", "worse on speech and handwriting, not on music"),
    "NFG": ("no forget gate (f = 1)", "significantly worse on all three datasets"),
    "NOG": ("no output gate (o = 1)", "worse on speech and handwriting, not on music"),
    "NIAF": ("no input activation (g linear)", "worse on speech and handwriting, not on music"),
    "NOAF": ("no output activation (h = o * c)", "significantly worse on all three datasets"),
    "NP": ("no peepholes", "no significant difference"),
    "CIFG": ("coupled gates (f = 1 - i)", "no significant difference"),
    "FGR": ("full gate recurrence", "no significant gain; worse on music"),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma separated (default: all nine)")
    p.add_argument("--hidden", type=int, default=64, help="hidden size (default 64)")
    p.add_argument("--seq-len", type=int, default=25, help="truncated BPTT length (default 25)")
    p.add_argument("--batch", type=int, default=32, help="parallel streams (default 32)")
    p.add_argument("--steps", type=int, default=400, help="training chunks per run (default 400)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (default 1.0)")
    p.add_argument("--seeds", type=int, default=2, help="runs per variant (default 2)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="H=16, 20 chunks, 1 seed")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.steps, args.seeds = 16, 20, 1
    args.variants = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        p.error(f"--variants: unknown {unknown}; choose from {list(VARIANTS)}")
    if args.quick and not {"peephole", "NOAF"} <= set(args.variants):
        p.error("--quick compares NOAF with vanilla: keep 'peephole' and 'NOAF' in --variants")
    if min(args.hidden, args.seq_len, args.batch, args.steps, args.seeds) < 1:
        p.error("--hidden, --seq-len, --batch, --steps and --seeds must be positive")
    return args


def run(variant, seed, args, train_streams, val_streams, V, bar):
    np.random.seed(seed)
    model = CharModel(nn.LSTM(V, args.hidden, variant=variant), V, args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    before = evaluate(model, val_streams, args.seq_len)
    curve = []
    step, state = 0, None
    while step < args.steps:
        for inputs, targets in data.tbptt_batches(train_streams, args.seq_len):
            logits, state = model(inputs, state)
            loss = F.cross_entropy(logits, targets.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            state = nn.detach_state(state)
            curve.append(loss.item())
            step += 1
            bar.update(1, variant=variant, loss=loss.item())
            if step >= args.steps:
                break
    return before, evaluate(model, val_streams, args.seq_len), curve


def main(argv=None):
    args = parse_args(argv)
    text = data.load_text("moby_dick")
    vocab = data.CharVocab(text)
    V = len(vocab)
    train_ids, val_ids = data.train_val_split(vocab.encode(text), 0.1)
    train_streams = data.batchify(train_ids, args.batch)
    val_streams = data.batchify(val_ids, 8)

    results = {}
    start = time.perf_counter()
    with Progress(len(args.variants) * args.seeds * args.steps, "variants") as bar:
        for variant in args.variants:
            results[variant] = [run(variant, seed, args, train_streams, val_streams, V, bar)
                                for seed in range(args.seeds)]
    seconds = time.perf_counter() - start

    final = {v: np.array([r[1] for r in runs]) for v, runs in results.items()}
    ref = final.get("peephole")
    rows = []
    for v in args.variants:
        losses = final[v]
        diff = "-" if ref is None or v == "peephole" else f"{losses.mean() - ref.mean():+.3f}"
        spread = f"{losses.min():.3f}-{losses.max():.3f}" if len(losses) > 1 else "-"
        rows.append([v, VARIANTS[v][0], f"{losses.mean():.3f}", spread, diff, VARIANTS[v][1]])
    print_table(["variant", "change", "validation nats/char", "range over seeds", "vs vanilla", "Greff et al. 2015"],
                rows, title=f"LSTM variants, character model on Moby-Dick ch. 1-3: H={args.hidden}, "
                            f"{args.steps} chunks of {args.seq_len} x {args.batch}, Adam lr {args.lr}, "
                            f"{args.seeds} seed(s), {seconds:.0f} s in all")

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    # A variant that diverges would squash every other curve: the axes stop at a few times
    # vanilla's loss, and what lies beyond is labelled instead of drawn.
    ref_loss = ref.mean() if ref is not None else np.median([final[v].mean() for v in args.variants])
    top = max(np.log(V) * 1.05, 1.5 * ref_loss)
    window = max(1, args.steps // 20)
    for i, v in enumerate(args.variants):
        curve = np.mean([r[2] for r in results[v]], axis=0)
        smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
        label = v if smooth.max() <= top else f"{v} (off the scale)"
        ax1.plot(np.arange(len(smooth)) + window, smooth, lw=2 if v == "peephole" else 1.2,
                 color="k" if v == "peephole" else plt.cm.tab10(i % 10), label=label)
    ax1.set_ylim(0.9 * min(final[v].min() for v in args.variants), top)
    ax1.set_xlabel("training chunk")
    ax1.set_ylabel("training loss (nats/char, smoothed)")
    ax1.set_title("Training curves (mean over seeds)")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8, ncol=2)
    order = sorted(args.variants, key=lambda v: final[v].mean())
    means = [final[v].mean() for v in order]
    ax2.barh(range(len(order)), [min(m, top) for m in means],
             color=["k" if v == "peephole" else "C0" for v in order])
    for j, v in enumerate(order):
        ax2.plot(np.minimum(final[v], top), [j] * len(final[v]), "o", color="C3", ms=4)
        if means[j] > top:
            ax2.text(top * 0.98, j, f"{means[j]:.1f} (off the scale) ", va="center", ha="right", color="w", fontsize=8)
    ax2.set_yticks(range(len(order)))
    ax2.set_yticklabels(order)
    lo = min(final[v].min() for v in order)
    ax2.set_xlim(0.95 * lo, top)
    ax2.set_xlabel("validation loss (nats/char; bar = mean, dots = seeds)")
    ax2.set_title("Final validation loss, best at the top")
    ax2.invert_yaxis()
    ax2.grid(True, axis="x", alpha=0.3)
    save_figure(fig, args.out, "lstm_variants.png")

    if args.quick:
        curve = results["peephole"][0][2]
        check(np.mean(curve[-5:]) < np.mean(curve[:5]), "vanilla's training loss fell")
        check(all(np.isfinite(final[v]).all() for v in args.variants), "every variant trained to a finite loss")
        check(final["NOAF"].mean() > final["peephole"].mean(),
              "without its output activation (NOAF) the LSTM ends worse than vanilla, as Greff et al. found")


if __name__ == "__main__":
    main()
