"""Backpropagation through time, by hand, with tape ops only.

A tanh RNN  h_t = tanh(x_t W_x + h_{t-1} W_h + b)  is unrolled for T steps, and a sigmoid
readout  y = sigmoid(h_T w_out)  is scored against a target. One backward call then fills in
dL/dW for every weight, and retain_grad() on each h_t shows how the gradient shrinks as it travels
back in time: ||dL/dh_t|| for t = T, T-1, ..., 0.

    python examples/bptt_basics.py --steps 20 --scale 0.5
"""

import argparse

import numpy as np

import tinygrad_rnn as tg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="sequence length T (default 20)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden size H (default 16)")
    parser.add_argument("--scale", type=float, default=0.9,
                        help="largest singular value of W_h (default 0.9; try 0.5 and 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.hidden < 1:
        parser.error("--steps and --hidden must be positive")

    rng = np.random.default_rng(args.seed)
    T, H, I = args.steps, args.hidden, 3
    # W_h rescaled so its largest singular value is `scale` (Pascanu et al. 2013: below 1 for
    # tanh, the gradient must vanish).
    w_h = rng.standard_normal((H, H))
    w_h *= args.scale / np.linalg.svd(w_h, compute_uv=False)[0]

    W_x = tg.Tensor(rng.standard_normal((I, H)) * 0.5, requires_grad=True, dtype="float64", name="W_x")
    W_h = tg.Tensor(w_h, requires_grad=True, name="W_h")
    b = tg.Tensor(np.zeros(H), requires_grad=True, name="b")
    w_out = tg.Tensor(rng.standard_normal((H, 1)) / np.sqrt(H), requires_grad=True, name="w_out")
    xs = rng.standard_normal((T, 1, I))
    target = np.array([[1.0]])

    h = tg.Tensor(np.zeros((1, H)), requires_grad=True, name="h_0")
    states = [h]
    for t in range(T):
        with tg.time_step(t):
            h = (tg.Tensor(xs[t]) @ W_x + h @ W_h + b).tanh()
        h.name = "h_t"
        h.retain_grad()
        states.append(h)
    y = (h @ w_out).sigmoid()
    loss = tg.functional.mse_loss(y, target)
    loss.backward()

    print(f"tanh RNN, T={T}, H={H}, largest singular value of W_h = {args.scale}")
    print(f"loss = {loss.item():.6f}")
    print(f"||dL/dW_h|| = {np.linalg.norm(W_h.grad.numpy()):.3e}   ||dL/dW_x|| = {np.linalg.norm(W_x.grad.numpy()):.3e}")
    print("\n  t   ||dL/dh_t||")
    for t in range(T, -1, -1):
        norm = np.linalg.norm(states[t].grad.numpy())
        print(f"{t:3d}   {norm:.3e}  {'#' * max(0, int(40 + 4 * np.log10(norm + 1e-300)))}")


if __name__ == "__main__":
    main()
