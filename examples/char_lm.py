"""A character language model in the style of min-char-rnn (Karpathy), on a public-domain text.

The model reads one-hot characters and predicts the next one. As in min-char-rnn: a tanh RNN with
100 hidden units (or --cell lstm / gru), truncated BPTT over 25-step chunks with the hidden state
carried from chunk to chunk, Adagrad with lr 0.1, and every gradient element clipped to [-5, 5].
One difference: min-char-rnn reads the text as one stream; here --batch streams (default 32) run
side by side, which costs little more per step in NumPy (--batch 1 is min-char-rnn's setting).

The text is the first three chapters of Melville's Moby-Dick (public domain), shipped with the
project. The script prints samples as it trains, and compares the validation loss with two
memoryless references: the uniform guess (ln V) and the character frequencies (unigram entropy),
and with a one-character-memory model (bigram counts).

    python examples/char_lm.py                 # tanh RNN, 8 minutes
    python examples/char_lm.py --cell lstm --minutes 8
    python examples/char_lm.py --quick         # a few seconds: checks the loss falls
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse
import time

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import data, nn, optim
from _char_model import CharModel, evaluate
from _common import DEFAULT_OUT, Progress, check, print_table, pyplot, save_figure


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn", help="recurrent cell (default rnn)")
    p.add_argument("--hidden", type=int, default=100, help="hidden size (default 100, as min-char-rnn)")
    p.add_argument("--seq-len", type=int, default=25, help="truncated BPTT length k (default 25)")
    p.add_argument("--batch", type=int, default=32, help="parallel streams (default 32; min-char-rnn: 1)")
    p.add_argument("--lr", type=float, default=0.1, help="Adagrad learning rate (default 0.1)")
    p.add_argument("--clip", type=float, default=5.0, help="clip each gradient element to [-clip, clip] (default 5)")
    p.add_argument("--minutes", type=float, default=8.0, help="training time budget (default 8)")
    p.add_argument("--max-steps", type=int, default=10**9, help="stop after this many chunks")
    p.add_argument("--sample-every", type=float, default=60.0, help="seconds between samples (default 60)")
    p.add_argument("--sample-len", type=int, default=200, help="characters per sample (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figures (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="H=32, 150 chunks: checks the loss falls")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.max_steps, args.sample_len, args.sample_every = 32, 150, 60, 1e9
    if min(args.hidden, args.seq_len, args.batch, args.sample_len) < 1:
        p.error("--hidden, --seq-len, --batch and --sample-len must be positive")
    return args


def sample(model, vocab, length, rng, start=None):
    """Draw `length` characters, feeding each one back in (temperature 1)."""
    ids = [vocab.index[start] if start else int(rng.integers(len(vocab)))]
    state = None
    with tg.no_grad():
        for _ in range(length):
            logits, state = model(np.array([[ids[-1]]]), state)
            p = logits.softmax(axis=-1).numpy()[0].astype(np.float64)
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return vocab.decode(ids)


def reference_losses(train_ids, val_ids, V):
    """Cross-entropy on the validation text of: uniform, unigram and bigram counts (add-one)."""
    unigram = (np.bincount(train_ids, minlength=V) + 1.0) / (len(train_ids) + V)
    pairs = np.ones((V, V))
    np.add.at(pairs, (train_ids[:-1], train_ids[1:]), 1.0)
    bigram = pairs / pairs.sum(axis=1, keepdims=True)
    return {
        "uniform (ln V)": float(np.log(V)),
        "unigram counts": float(-np.log(unigram[val_ids]).mean()),
        "bigram counts": float(-np.log(bigram[val_ids[:-1], val_ids[1:]]).mean()),
    }


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)
    text = data.load_text("moby_dick")
    vocab = data.CharVocab(text)
    V = len(vocab)
    train_ids, val_ids = data.train_val_split(vocab.encode(text), 0.1)
    train_streams = data.batchify(train_ids, args.batch)
    val_streams = data.batchify(val_ids, 8)
    refs = reference_losses(train_ids, val_ids, V)
    print(f"text: {len(text)} characters, vocabulary {V}; training on {len(train_ids)}, validating on {len(val_ids)}")

    model = CharModel(nn.make_layer(args.cell, V, args.hidden), V, args.hidden)
    opt = optim.Adagrad(model.parameters(), lr=args.lr)
    history = {"step": [0], "val": [evaluate(model, val_streams, args.seq_len)], "train": [np.nan]}
    samples = [(0, sample(model, vocab, args.sample_len, rng, start="T"))]
    print(f"\n--- sample before training ---\n{samples[0][1]}\n")

    start, budget = time.perf_counter(), 60.0 * args.minutes
    step, epoch, state, running = 0, 0, None, []
    last_sample = start
    eval_every = 100 if args.quick else 500
    bar = Progress(args.max_steps if args.quick else int(budget), f"char {args.cell}")
    done = False
    while not done:
        epoch += 1
        state = None  # each pass over the text starts from a zero state
        for inputs, targets in data.tbptt_batches(train_streams, args.seq_len):
            logits, state = model(inputs, state)
            loss = F.cross_entropy(logits, targets.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_value_(model.parameters(), args.clip)
            opt.step()
            state = nn.detach_state(state)  # carry the state forward, cut the graph behind it
            step += 1
            running.append(loss.item())
            now = time.perf_counter()
            if step % eval_every == 0:
                history["step"].append(step)
                history["val"].append(evaluate(model, val_streams, args.seq_len))
                history["train"].append(float(np.mean(running)))
                running = []
            if now - last_sample > args.sample_every:
                last_sample = now
                samples.append((step, sample(model, vocab, args.sample_len, rng, start="T")))
                print(f"\n--- sample after {step} chunks ---\n{samples[-1][1]}\n", flush=True)
            if args.quick:
                bar.update(1, loss=loss.item())
            else:
                bar.count = int(now - start)
                bar.update(0, step=step, loss=loss.item())
            if step >= args.max_steps or now - start > budget:
                done = True
                break
    bar.close()
    seconds = time.perf_counter() - start
    if history["step"][-1] != step:
        history["step"].append(step)
        history["val"].append(evaluate(model, val_streams, args.seq_len))
        history["train"].append(float(np.mean(running)) if running else np.nan)
    samples.append((step, sample(model, vocab, args.sample_len, rng, start="T")))
    print(f"\n--- sample after {step} chunks ---\n{samples[-1][1]}\n")

    val = history["val"][-1]
    rows = [[name, f"{loss:.3f}", f"{loss / np.log(2):.3f}"] for name, loss in refs.items()]
    rows.append([f"{args.cell} H={args.hidden}, {step} chunks, {seconds:.0f} s ({epoch} passes)",
                 f"{val:.3f}", f"{val / np.log(2):.3f}"])
    print_table(["model", "validation nats/char", "bits/char"], rows,
                title=f"Character model on Moby-Dick ch. 1-3, k={args.seq_len}, batch {args.batch}, "
                      f"Adagrad lr {args.lr}, clip {args.clip}")
    print("min-char-rnn (Karpathy): the loss falls steadily and samples turn from noise into word-like "
          "text; it reports no benchmark number. A model with memory should beat the bigram counts.")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(history["step"][1:], history["train"][1:], color="C0", lw=1.5, label="training loss (mean since last point)")
    ax.plot(history["step"], history["val"], "o-", color="C3", lw=2, ms=3, label="validation loss")
    for (name, loss), style in zip(refs.items(), ["--", "-.", ":"]):
        ax.axhline(loss, color="k", ls=style, lw=1, label=name)
    ax.set_xlabel(f"chunk of {args.seq_len} steps x {args.batch} streams")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(f"Character model ({args.cell}, H={args.hidden}) on Moby-Dick")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, args.out, "char_lm.png")
    with open(_common.out_dir(args.out) / "char_lm_samples.txt", "w", encoding="utf-8") as f:
        for s, text_sample in samples:
            f.write(f"--- after {s} chunks ---\n{text_sample}\n\n")
    print(f"samples: {_common.out_dir(args.out) / 'char_lm_samples.txt'}")

    if args.quick:
        check(val < refs["unigram counts"],
              f"validation loss fell from {history['val'][0]:.3f} to {val:.3f}, below the unigram "
              f"counts' {refs['unigram counts']:.3f}")


if __name__ == "__main__":
    main()
