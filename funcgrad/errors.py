"""The exceptions funcgrad raises, and how they name the user's own source line."""

import os
import sys

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# NumPy's own functions called on a tracer (np.trace(x) calls x.trace): the user's line is
# the one that called NumPy.
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__)) + os.sep


class FuncgradError(Exception):
    """Base class of every error funcgrad raises on purpose."""


class ShapeError(FuncgradError, ValueError):
    """Operand shapes, axes or parameters that an operation cannot accept."""


class DtypeError(FuncgradError, TypeError):
    """Operand dtypes that an operation cannot accept."""


class ConcretizationError(FuncgradError, TypeError):
    """A traced value was used where Python needs a concrete value."""


class TracerLeakError(FuncgradError, RuntimeError):
    """A tracer escaped the transformation that created it."""


def user_frame():
    """Return ``"file.py:42"`` for the innermost stack frame outside funcgrad (and NumPy)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith((_PACKAGE_DIR, _NUMPY_DIR)):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    filename = frame.f_code.co_filename
    try:
        rel = os.path.relpath(filename)
        if not rel.startswith(".."):
            filename = rel
    except ValueError:  # a different drive on Windows
        pass
    return f"{filename}:{frame.f_lineno}"


def located(error):
    """Return a copy of ``error`` whose message ends with the user's source line."""
    return type(error)(f"{error} at {user_frame()}")
