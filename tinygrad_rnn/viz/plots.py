"""Gradient-flow figures (matplotlib) from GradientTrace objects (tinygrad_rnn.gradients.trace).

    traces = {name: trace_gradients(nn.make_cell(kind, 8, 32), x) for name, kind in ...}
    fig = viz.plot_gradient_flow(traces)      # ||dL/dh_t|| against the time lag, log scale
    fig = viz.plot_gradient_heatmap(trace)    # |dL/dh_t| for every unit and step
    fig = viz.plot_carousel_share(trace)      # how much of dL/dc_{t-1} the carousel carries
    viz.save_figure(fig, "flow.png")          # .png .svg .pdf

Each function returns a matplotlib Figure drawn on the Agg canvas, without pyplot: nothing
global changes (no backend switch, no open windows), so this works in scripts, tests, CI and
Jupyter (where a Figure shows itself). matplotlib is imported only when a function is called.
"""

import os

import numpy as np

HINT = "plotting needs matplotlib: pip install 'tinygrad_rnn[viz]' (or pip install matplotlib)"

COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


def _figure(width, height, rows=1):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(HINT) from exc
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas, for this figure only
    axes = [fig.add_subplot(rows, 1, r + 1) for r in range(rows)]
    return fig, axes


def _as_named(traces):
    if isinstance(traces, dict):
        return list(traces.items())
    if hasattr(traces, "dL_dh"):
        return [(traces.cell, traces)]
    return [(t.cell, t) for t in traces]


def _positive(values):
    """Zeros (no gradient at all, e.g. behind a truncation) cannot sit on a log axis: NaN hides them."""
    values = np.asarray(values, dtype=np.float64).copy()
    values[values <= 0] = np.nan
    return values


def plot_gradient_flow(traces, normalize=True, title=None):
    """||dL/dh_t|| (solid) and, for cells with a second state (the LSTM's c_t), ||dL/dc_t||
    (dashed) against the time lag T-1-t, one colour per trace, log scale; the states carry the
    names their cells declare. `traces`: {label: GradientTrace}, or a list of traces.
    normalize=True divides each curve by its value at lag 0 (the last step), so cells whose
    outputs differ in size compare fairly: the curve shows the fraction of the gradient left."""
    named = _as_named(traces)
    fig, (ax,) = _figure(7.5, 4.8)
    for k, (label, trace) in enumerate(named):
        color = COLORS[k % len(COLORS)]
        for state, linestyle in (("h", "-"), ("c", "--")):
            if state == "c" and trace.dL_dc is None:
                continue
            norms = trace.grad_norm(state)
            if normalize and norms[-1] > 0:
                norms = norms / norms[-1]
            ax.plot(trace.lags, _positive(norms), linestyle, color=color, linewidth=2,
                    label=f"{label}: dL/d{trace.state_name(state)}_t")
    ax.set_yscale("log")
    ax.set_xlabel("time lag T-1-t (steps back from the last step, where the loss is)")
    if normalize:
        ax.set_ylabel("gradient norm at step t / at the last step\n(log scale)")
    else:
        ax.set_ylabel("gradient norm ||dL/dh_t||, ||dL/dc_t||  (log scale)")
    T = max(trace.dL_dh.shape[0] for _, trace in named)
    ax.set_title(title or f"How far back does the gradient reach? Backprop through {T} steps")
    ax.grid(True, which="major", alpha=0.4)
    ax.legend(loc="lower left", fontsize=9)
    return fig


def plot_gradient_heatmap(trace, state="h", batch_index=None, title=None):
    """|dL/dh_t| (or |dL/dc_t|) of each hidden unit (rows) at each time step (columns), for one
    batch element, on a log colour scale: a vanishing gradient is a fade to the left."""
    grads = trace.gradients(state)
    b = trace.batch_index if batch_index is None else batch_index
    values = np.abs(grads[:, b, :].astype(np.float64)).T  # (H, T)
    top = values.max() if values.size and values.max() > 0 else 1.0
    floor = max(values[values > 0].min() if (values > 0).any() else top, top * 1e-12)
    fig, (ax,) = _figure(8.0, 4.2)
    from matplotlib.colors import LogNorm  # matplotlib is there: _figure checked

    image = ax.imshow(np.maximum(values, floor), aspect="auto", origin="lower", cmap="viridis",
                      norm=LogNorm(vmin=floor, vmax=top), interpolation="nearest")
    colorbar = fig.colorbar(image, ax=ax)
    name = trace.state_name(state)
    colorbar.set_label(f"|dL/d{name}_t| of the unit (log scale)")
    ax.set_xlabel("time step t (the loss is at the last step, on the right)")
    ax.set_ylabel("hidden unit")
    ax.set_title(title or f"{trace.cell}: gradient reaching each unit of {name}_t (batch element {b})")
    return fig


def plot_carousel_share(trace, title=None):
    """Top: the two parts of dL/ds_{t-1} at each step t, s the cell's declared carried state: the
    carousel term a_t * dL/ds_t (LSTM: f_t * dL/dc_t) and the rest (through the other states and
    the gates), log scale. Bottom: the carousel's share of them. Labels use the declared names."""
    if trace.carousel is None:
        trace.carousel_norm()  # raises, saying why there is no carousel
    s, factor = trace.carousel_state, trace.carousel_factor
    factor = "" if factor == "1" else (f"({factor}) * " if " " in factor else f"{factor} * ")
    others = [name for name in trace.state_names if name is not None and name != s]
    if others:  # the carried state is not the output: the LSTM's carousel
        direct, via = f"carousel: {factor}dL/d{s}_t", f"rest: through {', '.join(n + '_(t-1)' for n in others)} and the gates"
        share_label = "the carousel's share\n|carousel| / (|carousel| + |rest|)"
    else:  # the output itself is carried: the GRU's direct path
        direct, via = f"direct path: {factor}dL/d{s}_t", "rest: through the gates and candidate"
        share_label = "the direct path's share\n|direct| / (|direct| + |rest|)"
    fig, (top, bottom) = _figure(7.5, 6.0, rows=2)
    top.plot(trace.steps, _positive(trace.carousel_norm()), color=COLORS[1], linewidth=2, label=direct)
    top.plot(trace.steps, _positive(trace.rest_norm()), color=COLORS[0], linewidth=2, label=via)
    top.set_yscale("log")
    top.set_ylabel(f"norm of the part of dL/d{s}_(t-1)")
    top.grid(True, alpha=0.4)
    top.legend(fontsize=9)
    top.set_title(title or f"{trace.cell}: what carries the gradient from {s}_t back to {s}_(t-1)?")
    bottom.plot(trace.steps, trace.carousel_share(), color=COLORS[1], linewidth=2)
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("time step t")
    bottom.set_ylabel(share_label)
    bottom.grid(True, alpha=0.4)
    return fig


def save_figure(fig, path, dpi=120):
    """Write a figure to `path`; the format comes from the extension (.png .svg .pdf)."""
    folder = os.path.dirname(str(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(str(path), dpi=dpi)
    return str(path)
