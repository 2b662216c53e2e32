"""Backpropagation through time written out by hand in NumPy, for an LSTM and a GRU in PyTorch's
layout: the yardstick that examples/benchmark_rnn.py measures the tape against, and an independent
check of the layers' gradients (tests/test_hand_bptt.py).

Written the way a careful hand implementation is, with none of a tape's generality:
- the input projection x W_ih^T + b for all T steps is one matmul before the loop;
- buffers for every step's activations are allocated once per sequence;
- the three sigmoid gates are one contiguous block (rows reordered at setup), so one call;
- the weight gradients are one matmul over all steps after the backward loop, not one per step.

The forward keeps only what the backward needs. For the LSTM, per step: the four activations
(i, f, o, g), c_t, tanh(c_t) and h_t. For the GRU: r, z, n, h_t and h_{t-1} W_hn^T + b_hn.

    lstm = HandLSTM(w_ih, w_hh, b_ih, b_hh)      # arrays in PyTorch's layout (4H, I), (4H, H), ...
    out = lstm.forward(x)                        # x (T, N, I) -> all h_t, (T, N, H), zero initial state
    grads = lstm.backward(upstream)              # dL/d(out) -> dict of dx, dw_ih, dw_hh, db_ih, db_hh
"""

import numpy as np


def sigmoid_(a):
    """sigma(a) = 1 / (1 + e^-a), in place."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)
    return a


class HandLSTM:
    """c_t = f_t c_{t-1} + i_t g_t,  h_t = o_t tanh(c_t);  gates as in torch.nn.LSTM (rows i, f, g, o)."""

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        H = w_hh.shape[1]
        # PyTorch stacks the rows as i, f, g, o; here as i, f, o, g, so the sigmoids are one block.
        self.order = np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
        self.w_ih = w_ih[self.order]
        self.w_hh = w_hh[self.order]
        self.b = (b_ih + b_hh)[self.order]
        self.H = H

    def forward(self, x):
        T, N, _ = x.shape
        H = self.H
        self.x = x
        # acts[t] first holds step t's pre-activations, then (in place) its activations.
        self.acts = acts = (x.reshape(T * N, -1) @ self.w_ih.T + self.b).reshape(T, N, 4 * H)
        self.c = c = np.empty((T, N, H), dtype=x.dtype)
        self.tanh_c = tanh_c = np.empty_like(c)
        self.h = h = np.empty_like(c)
        h_prev = np.zeros((N, H), dtype=x.dtype)
        c_prev = h_prev
        for t in range(T):
            a = acts[t]
            a += h_prev @ self.w_hh.T
            sigmoid_(a[:, : 3 * H])
            np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
            i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            np.multiply(f, c_prev, out=c[t])
            c[t] += i * g
            np.tanh(c[t], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=h[t])
            h_prev, c_prev = h[t], c[t]
        return h

    def backward(self, grad_h):
        T, N, H = grad_h.shape
        acts, c, tanh_c, h = self.acts, self.c, self.tanh_c, self.h
        d_pre = np.empty_like(acts)  # dL/d(pre-activations), every step, for the weight matmuls
        dh_next = np.zeros((N, H), dtype=grad_h.dtype)
        dc_next = np.zeros((N, H), dtype=grad_h.dtype)
        for t in reversed(range(T)):
            a = acts[t]
            i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            dh = grad_h[t] + dh_next
            dc = dc_next + dh * o * (1 - tanh_c[t] * tanh_c[t])
            c_prev = c[t - 1] if t > 0 else 0.0
            d = d_pre[t]
            # sigma' = s (1 - s), tanh' = 1 - tanh^2, applied to each gate's gradient
            np.multiply(dc * g, i * (1 - i), out=d[:, :H])
            np.multiply(dc * c_prev, f * (1 - f), out=d[:, H : 2 * H])
            np.multiply(dh * tanh_c[t], o * (1 - o), out=d[:, 2 * H : 3 * H])
            np.multiply(dc * i, 1 - g * g, out=d[:, 3 * H :])
            dc_next = dc * f
            dh_next = d @ self.w_hh
        flat = d_pre.reshape(T * N, 4 * H)
        h_prev = np.concatenate([np.zeros((1, N, H), dtype=h.dtype), h[:-1]]).reshape(T * N, H)
        db = flat.sum(axis=0)
        back = np.argsort(self.order)  # rows back into PyTorch's i, f, g, o order
        return {
            "dx": (flat @ self.w_ih).reshape(self.x.shape),
            "dw_ih": (flat.T @ self.x.reshape(T * N, -1))[back],
            "dw_hh": (flat.T @ h_prev)[back],
            "db_ih": db[back],
            "db_hh": db[back].copy(),
        }


class HandGRU:
    """r, z = sigma(x W_i^T + b_i + h W_h^T + b_h),  n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)),
    h_t = (1 - z) n + z h_{t-1}: torch.nn.GRU's equations (rows r, z, n; b_hn inside r * (.))."""

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = w_ih, w_hh, b_ih, b_hh
        self.H = w_hh.shape[1]

    def forward(self, x):
        T, N, _ = x.shape
        H = self.H
        self.x = x
        # The input part of every gate for all steps; r and z take both biases here, n only b_in.
        x_proj = (x.reshape(T * N, -1) @ self.w_ih.T + self.b_ih).reshape(T, N, 3 * H)
        x_proj[:, :, : 2 * H] += self.b_hh[: 2 * H]
        self.acts = acts = x_proj  # becomes r, z, n in place
        self.hn = hn = np.empty((T, N, H), dtype=x.dtype)  # h_{t-1} W_hn^T + b_hn
        self.h = h = np.empty((T, N, H), dtype=x.dtype)
        h_prev = np.zeros((N, H), dtype=x.dtype)
        for t in range(T):
            a = acts[t]
            recurrent = h_prev @ self.w_hh.T
            a[:, : 2 * H] += recurrent[:, : 2 * H]
            sigmoid_(a[:, : 2 * H])
            np.add(recurrent[:, 2 * H :], self.b_hh[2 * H :], out=hn[t])
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            n += r * hn[t]
            np.tanh(n, out=n)
            np.subtract(h_prev, n, out=h[t])  # h_t = n + z (h_{t-1} - n)
            h[t] *= z
            h[t] += n
            h_prev = h[t]
        return h

    def backward(self, grad_h):
        T, N, H = grad_h.shape
        acts, hn, h = self.acts, self.hn, self.h
        d_x = np.empty_like(acts)  # dL/d(input part of each gate's pre-activation)
        d_h = np.empty_like(acts)  # dL/d(h_{t-1} W_h^T + b_h), each gate
        dh_next = np.zeros((N, H), dtype=grad_h.dtype)
        zeros = np.zeros((N, H), dtype=grad_h.dtype)
        for t in reversed(range(T)):
            r, z, n = acts[t][:, :H], acts[t][:, H : 2 * H], acts[t][:, 2 * H :]
            h_prev = h[t - 1] if t > 0 else zeros
            dh = grad_h[t] + dh_next
            dn = dh * (1 - z) * (1 - n * n)
            dr = dn * hn[t] * r * (1 - r)
            dz = dh * (h_prev - n) * z * (1 - z)
            dx, dhh = d_x[t], d_h[t]
            dx[:, :H] = dr
            dx[:, H : 2 * H] = dz
            dx[:, 2 * H :] = dn
            dhh[:, : 2 * H] = dx[:, : 2 * H]
            np.multiply(dn, r, out=dhh[:, 2 * H :])
            dh_next = dh * z + dhh @ self.w_hh
        flat_x = d_x.reshape(T * N, 3 * H)
        flat_h = d_h.reshape(T * N, 3 * H)
        h_prev = np.concatenate([np.zeros((1, N, H), dtype=h.dtype), h[:-1]]).reshape(T * N, H)
        return {
            "dx": (flat_x @ self.w_ih).reshape(self.x.shape),
            "dw_ih": flat_x.T @ self.x.reshape(T * N, -1),
            "dw_hh": flat_h.T @ h_prev,
            "db_ih": flat_x.sum(axis=0),
            "db_hh": flat_h.sum(axis=0),
        }
