"""The two uses the RNN literature starts from: sequence classification and sequence labelling.

- Many-to-one (sequence classification): read the whole sequence, answer once at the end, from
  the last hidden state:  y = softmax(V h_T + c). The task is Hochreiter & Schmidhuber's (1997)
  temporal order problem: two relevant symbols (X or Y) hide among random distractors; the class
  (XX, XY, YX or YY) is the order in which they came. Chance: accuracy 25%, cross-entropy ln 4.
- Many-to-many (sequence labelling): answer at every step from that step's hidden state:
  y_t = softmax(V h_t + c). The task is a delayed echo: label each step with the symbol seen
  `delay` steps earlier. Chance on the echo steps: 1 / (number of symbols).

The same recurrent layers serve both; only the read-out changes (out[-1] or every out[t]).

    python examples/sequence_tasks.py            # rnn/lstm/gru on both tasks, about a minute
    python examples/sequence_tasks.py --quick    # a few seconds: checks the losses fall
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import data, nn, optim
from _common import DEFAULT_OUT, Progress, check, print_table, pyplot, save_figure

CELLS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
N_SYMBOLS = 4  # for the delayed echo


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", default="rnn,lstm,gru", help="cells, from rnn,lstm,gru (default all)")
    p.add_argument("--order-T", type=int, default=50, help="temporal order sequence length (default 50)")
    p.add_argument("--echo-T", type=int, default=30, help="delayed echo sequence length (default 30)")
    p.add_argument("--delay", type=int, default=5, help="delayed echo: steps to look back (default 5)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    p.add_argument("--batch", type=int, default=32, help="sequences per step (default 32)")
    p.add_argument("--steps", type=int, default=600, help="training steps per run (default 600)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="short sequences, a GRU, 80 steps")
    args = p.parse_args(argv)
    if args.quick:
        args.cells, args.order_T, args.echo_T, args.delay, args.steps = "gru", 12, 10, 2, 80
    args.cells = [c.strip() for c in args.cells.split(",")]
    unknown = [c for c in args.cells if c not in CELLS]
    if unknown:
        p.error(f"--cells: unknown {unknown}; choose from {list(CELLS)}")
    if args.order_T < 10 or args.delay >= args.echo_T or min(args.hidden, args.batch, args.steps, args.delay) < 1:
        p.error("--order-T >= 10, 1 <= --delay < --echo-T, and positive --hidden, --batch, --steps")
    return args


class Tagger(nn.Module):
    """One recurrent layer and one linear read-out; `many_to_one` picks where it reads."""

    def __init__(self, kind, n_inputs, n_classes, hidden, many_to_one):
        super().__init__()
        extra = {"forget_bias": 1.0} if kind == "lstm" else {}
        self.rnn = nn.make_layer(kind, n_inputs, hidden, **extra)
        self.head = nn.Linear(hidden, n_classes)
        self.n_inputs = n_inputs
        self.many_to_one = many_to_one

    def forward(self, x):
        """x (N, T) symbols -> logits (N, C) for many-to-one, (T*N, C) time first for many-to-many."""
        out, _ = self.rnn(tg.Tensor(data.one_hot(x.T, self.n_inputs)))
        if self.many_to_one:
            return self.head(out[-1])  # y = softmax(V h_T + c)
        T, N, H = out.shape
        return self.head(out.reshape(T * N, H))  # y_t = softmax(V h_t + c) at every step


def make_task(name, args):
    """(batch generator, number of input symbols, classes, many_to_one, chance accuracy)."""
    if name == "temporal order":
        return (lambda n, rng: data.temporal_order(n, args.order_T, rng=rng)), 8, 4, True, 0.25
    return ((lambda n, rng: data.delayed_echo(n, args.echo_T, args.delay, N_SYMBOLS, rng=rng)),
            N_SYMBOLS + 1, N_SYMBOLS + 1, False, 1.0 / N_SYMBOLS)


def score(model, x, y, many_to_one, delay):
    """Cross-entropy and accuracy; for labelling, only on the steps that have something to echo."""
    logits = model(x)
    if many_to_one:
        targets = y
        loss = F.cross_entropy(logits, targets)
        return loss, float((logits.numpy().argmax(1) == targets).mean())
    targets = y.T.reshape(-1)
    loss = F.cross_entropy(logits, targets)
    pred = logits.numpy().argmax(1).reshape(y.shape[1], y.shape[0])
    return loss, float((pred[delay:] == y.T[delay:]).mean())


def train(task, kind, args):
    make, n_in, n_classes, many_to_one, chance = make_task(task, args)
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)
    model = Tagger(kind, n_in, n_classes, args.hidden, many_to_one)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    x_test, y_test = make(1000, rng)
    with tg.no_grad():
        loss0, acc0 = score(model, x_test, y_test, many_to_one, args.delay)
    curve = []
    with Progress(args.steps, f"{task}, {CELLS[kind]}") as bar:
        for _ in range(args.steps):
            x, y = make(args.batch, rng)
            loss, _ = score(model, x, y, many_to_one, args.delay)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            curve.append(loss.item())
            bar.update(1, loss=curve[-1])
    with tg.no_grad():
        loss, acc = score(model, x_test, y_test, many_to_one, args.delay)
    return {"loss0": loss0.item(), "loss": loss.item(), "acc": acc, "chance": chance, "curve": curve}


def main(argv=None):
    args = parse_args(argv)
    tasks = ["temporal order", "delayed echo"]
    results = {(task, kind): train(task, kind, args) for task in tasks for kind in args.cells}

    rows = []
    for (task, kind), r in results.items():
        kind_of = "many-to-one" if task == "temporal order" else "many-to-many"
        size = f"T={args.order_T}" if task == "temporal order" else f"T={args.echo_T}, delay {args.delay}"
        rows.append([f"{task} ({kind_of}, {size})", CELLS[kind], f"{r['loss0']:.3f}", f"{r['loss']:.3f}",
                     f"{100 * r['acc']:.1f}%", f"{100 * r['chance']:.1f}%"])
    print_table(["task", "cell", "test loss before", "test loss after", "test accuracy", "chance"], rows,
                title=f"Sequence classification and labelling: H={args.hidden}, {args.steps} steps of "
                      f"{args.batch}, Adam lr {args.lr}")
    print("Papers: Hochreiter & Schmidhuber (1997) solve the temporal order problem (T=100-110) with "
          "LSTM; chance is 25% (loss ln 4 = 1.386). The delayed echo needs `delay` steps of memory.")

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    colors = {"rnn": "C0", "lstm": "C3", "gru": "C1"}
    window = max(1, args.steps // 30)
    for ax, task in zip(axes, tasks):
        for kind in args.cells:
            curve = np.convolve(results[task, kind]["curve"], np.ones(window) / window, mode="valid")
            ax.plot(np.arange(len(curve)) + window, curve, color=colors[kind], lw=1.5, label=CELLS[kind])
        chance_loss = np.log(4) if task == "temporal order" else None
        if chance_loss:
            ax.axhline(chance_loss, color="k", ls="--", lw=1, label="chance, ln 4")
        ax.set_xlabel("training step")
        ax.set_ylabel("training cross-entropy (smoothed)")
        ax.set_title(("Many-to-one: temporal order, T=%d" % args.order_T) if task == "temporal order"
                     else f"Many-to-many: delayed echo, T={args.echo_T}, delay {args.delay}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, args.out, "sequence_tasks.png")

    if args.quick:
        for (task, kind), r in results.items():
            check(r["loss"] < 0.8 * r["loss0"], f"{task}, {kind}: test loss fell from {r['loss0']:.3f} to {r['loss']:.3f}")


if __name__ == "__main__":
    main()
