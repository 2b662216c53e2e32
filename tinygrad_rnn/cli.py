"""The command line: `tinygrad-rnn demo | graph | gradflow | explore` (also `python -m tinygrad_rnn`).

    tinygrad-rnn demo --out demo_out
    tinygrad-rnn graph --cell lstm-1997 --steps 5 --level op -o lstm1997.svg
    tinygrad-rnn gradflow --cells rnn,lstm,gru --steps 100 -o flow.png
    tinygrad-rnn graph --cell mycells:LeakyCell -o leaky.svg      # your own cell class
    tinygrad-rnn explore --cell lstm --steps 30 -o explore.html

A bad argument prints one line (what is wrong and what would be right) and exits with code 2;
a failure while running (Graphviz missing, a file that cannot be written) prints one line and
exits with code 1.
"""

import argparse
import importlib
import inspect
import os
import sys

from .nn import CELL_KINDS
from .viz.render import GraphvizError

PROG = "tinygrad-rnn"
GRAPH_FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")
PLOT_FORMATS = (".png", ".svg", ".pdf")


class UsageError(Exception):
    """A bad command-line argument: one line on stderr, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block, no traceback) and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**32 - 1, got {text!r}")
    return value


def cell_kind(text):
    """A name of CELL_KINDS, or 'module:Class' for a cell class of your own (returned as the class)."""
    if ":" in text:
        return cell_class(text)
    if text not in CELL_KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown cell {text!r}; choose one of {', '.join(CELL_KINDS)}, or module:Class for your own cell"
        )
    return text


def cell_class(text):
    """The class `Class` of `module:Class`, the module imported from the current folder or sys.path."""
    module_name, _, class_name = text.partition(":")
    if not module_name or not class_name:
        raise argparse.ArgumentTypeError(f"expected module:Class for a cell of your own, got {text!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: your module next to you
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot import module {module_name!r} for --cell {text} (from the current folder or sys.path): {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and hasattr(cls, "step") and hasattr(cls, "declaration")):
        found = "missing" if cls is None else f"a {type(cls).__name__}"
        raise argparse.ArgumentTypeError(
            f"--cell {text}: {module_name}.{class_name} is {found}, not a cell class (a subclass of "
            f"tinygrad_rnn.nn.RecurrentCell with a declaration)"
        )
    return cls


def cell_kinds(text):
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds:
        raise argparse.ArgumentTypeError("expected a comma-separated list of cells, e.g. rnn,lstm,gru")
    return [cell_kind(k) for k in kinds]


def float_list(text):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, e.g. 0,1; got {text!r}")
    return values


def step_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected comma-separated step numbers from 0, e.g. 0,10,29; got {text!r}")
    return values


def _lstm_has_input_bias():
    from .nn import LSTMCell

    return "input_bias" in inspect.signature(LSTMCell.__init__).parameters


def build_parser():
    parser = Parser(
        prog=PROG,
        description="See how gradients move through recurrent networks: computation graphs "
        "(Graphviz), gradient-flow plots (matplotlib) and the gradient explorer (one web page).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="draw an LSTM step, a 3-step unrolled LSTM and a 50-step gradient-flow plot",
        description="Render one LSTM step at op level, a 3-step unrolled LSTM with the cell-state "
        "path (CEC) highlighted and edges as wide as their gradient, and the gradient norm against "
        "time lag for RNN, LSTM and GRU over 50 steps. Writes DOT, SVG and PNG files and prints "
        "what it found.",
    )
    demo.add_argument("--out", default="demo_out", metavar="DIR", help="folder to write into (default: demo_out)")

    graph = commands.add_parser(
        "graph",
        help="draw the computation graph of a cell unrolled over N steps",
        description="Draw the graph of a one-layer recurrent layer unrolled over N steps, after "
        "backward of L = sum(h at the last step). The format comes from the extension of -o.",
    )
    graph.add_argument("--cell", type=cell_kind, default="lstm", metavar="KIND",
                       help=f"one of {', '.join(CELL_KINDS)} (default lstm), or module:Class for a cell "
                       f"class of your own (imported from the current folder)")
    graph.add_argument("--steps", type=positive_int, default=3, metavar="N", help="time steps (default 3)")
    graph.add_argument("--level", choices=("op", "cell"), default="op",
                       help="op: every op; cell: one node per cell step (for long sequences)")
    graph.add_argument("--hidden", type=positive_int, default=4, metavar="H", help="hidden size (default 4)")
    graph.add_argument("--seed", type=seed_int, default=0, help="seed of the random weights and inputs (default 0)")
    graph.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write: .svg .png .pdf or .dot")

    flow = commands.add_parser(
        "gradflow",
        help="plot the gradient norm against time lag for several cells",
        description="Trace ||dL/dh_t|| back through T steps (loss on the last step's h) for each "
        "cell and plot it against the time lag on a log axis.",
    )
    flow.add_argument("--cells", type=cell_kinds, default=["rnn", "lstm", "gru"], metavar="KINDS",
                      help="comma-separated cells (default rnn,lstm,gru); module:Class for your own")
    flow.add_argument("--steps", type=positive_int, default=50, metavar="T", help="time steps (default 50)")
    flow.add_argument("--hidden", type=positive_int, default=32, metavar="H", help="hidden size (default 32)")
    flow.add_argument("--seed", type=seed_int, default=0, help="seed of the random weights and inputs (default 0)")
    flow.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write: .png .svg or .pdf")

    explore = commands.add_parser(
        "explore",
        help="write the gradient explorer: one web page to move through time and between cells",
        description="Trace BPTT through each cell (loss on the last step's h) and write one "
        "self-contained HTML page (no network, no server): the unrolled graph with edges as wide as "
        "their gradient, heatmaps of |dL/dh_t| (and |dL/dc_t|), the gradient norm against time lag, "
        "and each step's ops with its gates' values and gradients. Open it in a browser.",
    )
    explore.add_argument("--cell", type=cell_kinds, default=["rnn", "lstm", "gru", "lstm-1997"], metavar="KINDS",
                         help=f"one cell or several, comma-separated, side by side with a switch: "
                         f"{', '.join(CELL_KINDS)} (default rnn,lstm,gru,lstm-1997), or module:Class for a "
                         f"cell class of your own (imported from the current folder)")
    explore.add_argument("--steps", type=positive_int, default=30, metavar="T", help="time steps (default 30)")
    explore.add_argument("--hidden", type=positive_int, default=16, metavar="H", help="hidden size (default 16)")
    explore.add_argument("--forget-bias", type=float_list, default=[None], metavar="B",
                         help="the LSTM's forget-gate bias; several (e.g. 0,1) make one run each; "
                         "a negative first value needs '=': --forget-bias=-1,1")
    if _lstm_has_input_bias():
        explore.add_argument("--input-bias", type=float_list, default=[None], metavar="B",
                             help="the LSTM's input-gate bias; several make one run each; a negative "
                             "first value needs '=': --input-bias=-1,1")
    explore.add_argument("--loss", choices=("last", "all"), default="last",
                         help="last: L = sum of h at the last step (default); all: sum over every step")
    explore.add_argument("--detail-steps", type=step_list, default=None, metavar="STEPS",
                         help="the steps whose ops are drawn (default: all up to 40 steps, else a chosen set)")
    explore.add_argument("--seed", type=seed_int, default=0, help="seed of the random weights and inputs (default 0)")
    explore.add_argument("-o", "--output", required=True, metavar="FILE", help="the page to write: .html")
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 bad argument)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_extension(args)
        _check_output_folder(args)
        _check_explore(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args)
    except (GraphvizError, OSError, ImportError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _check_extension(args):
    allowed = {"graph": GRAPH_FORMATS, "gradflow": PLOT_FORMATS, "explore": (".html", ".htm")}.get(args.command)
    if allowed is None:
        return
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in allowed:
        raise UsageError(
            f"{PROG} {args.command}: error: cannot tell the format of {args.output!r}: "
            f"end the file name with one of {' '.join(allowed)}"
        )


def _check_output_folder(args):
    """A file standing where a folder of the output path must be is a bad argument, found before
    any work (else os.makedirs reports '[Errno 17] File exists', naming only the file)."""
    target = args.out if args.command == "demo" else args.output
    folder = os.path.normpath(target if args.command == "demo" else os.path.dirname(target) or ".")
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder) or "."
    if not os.path.isdir(folder):
        raise UsageError(
            f"{PROG} {args.command}: error: cannot write into {target!r}: {folder!r} is a file, not a folder"
        )


def _check_explore(args):
    if args.command != "explore":
        return
    if args.detail_steps is not None and max(args.detail_steps) >= args.steps:
        raise UsageError(f"{PROG} explore: error: --detail-steps {max(args.detail_steps)} is not one of the "
                         f"{args.steps} steps 0 .. {args.steps - 1}")
    from .viz.demo import explorer_runs

    try:
        explorer_runs(args.cell, args.forget_bias, getattr(args, "input_bias", [None]))
    except ValueError as exc:
        raise UsageError(f"{PROG} explore: error: {exc}") from exc


def run_demo(args):
    from .viz.demo import run_demo as demo

    demo(args.out, echo=print)
    return 0  # without `dot` the demo still writes DOT files and plots, and warns


def run_graph(args):
    from .viz.demo import unrolled_graph
    from .viz.render import save_graph

    graph = unrolled_graph(args.cell, steps=args.steps, level=args.level, hidden_size=args.hidden, seed=args.seed)
    print(save_graph(graph, args.output))
    if args.steps > 100 and str(args.output).lower().endswith(".png"):
        print(f"note: a {args.steps}-step graph is wider than a PNG can show legibly (Graphviz scales it "
              f"down); render it as .svg, which a browser can zoom", file=sys.stderr)
    return 0


def run_gradflow(args):
    from .viz.demo import gradient_flow_traces
    from .viz.plots import plot_gradient_flow, save_figure

    traces = gradient_flow_traces(args.cells, steps=args.steps, hidden_size=args.hidden, seed=args.seed)
    title = f"Gradient flow back through {args.steps} steps (loss on the last step's h)"
    figure = plot_gradient_flow(traces, title=title)
    print(save_figure(figure, args.output))
    for label, trace in traces.items():
        norms = trace.grad_norm("h")
        ratio = norms[0] / norms[-1] if norms[-1] > 0 else 0.0
        print(f"  {label:<28} ||dL/dh_t|| at t=0 / at t={args.steps - 1}: {ratio:.2e}")
    return 0


def run_explore(args):
    from .viz.demo import explorer_page

    page = explorer_page(args.cell, steps=args.steps, hidden_size=args.hidden, seed=args.seed,
                         forget_biases=args.forget_bias, input_biases=getattr(args, "input_bias", [None]),
                         loss=args.loss, detail_steps=args.detail_steps)
    path = page.save(args.output)
    print(f"{path} ({os.path.getsize(path) / 1e6:.2f} MB): {', '.join(run['label'] for run in page.runs)}")
    return 0


COMMANDS = {"demo": run_demo, "graph": run_graph, "gradflow": run_gradflow, "explore": run_explore}
