"""Error types. Every message names the op and the shapes, dtypes or backends involved."""


class ShapeError(ValueError):
    """Shapes that an op cannot combine (no silent broadcasting into a wrong answer)."""


class IndexingError(ShapeError, IndexError):
    """An index or axis outside a tensor's shape. An IndexError, as NumPy and PyTorch raise for
    these, and a ShapeError, like every other shape problem here."""


class DTypeError(TypeError):
    """A dtype an op does not accept, or two dtypes it will not mix."""


class BackendError(RuntimeError):
    """A backend that is missing, or two backends mixed in one op."""


class GraphError(RuntimeError):
    """Misuse of the tape: backward through a freed graph, on nothing that requires grad, ..."""


class GradcheckError(AssertionError):
    """The tape's gradient disagrees with central finite differences."""


def fmt_shapes(*arrays):
    """'(3, 4) and (5, 6)': shapes as Python tuples, the way users write them."""
    return " and ".join(str(tuple(a.shape)) for a in arrays)


class AnomalyError(FloatingPointError):
    """Anomaly mode (`detect_anomaly`) found NaN or Inf in an op's output or in its backward."""
