"""Why a NumPy name is not in funcgrad.numpy, for the AttributeError that says so.

``NOT_PROVIDED`` maps a NumPy name to the reason it is left out (or to the funcgrad
function to use instead); tests/test_numpy_coverage.py fails for any public NumPy
function that funcgrad.numpy neither has nor lists here.
"""

import difflib

import numpy as np

_IO = "file and buffer I/O: use numpy's, or funcgrad.io for checkpoints"
_TEXT = "formatting and printing: use numpy's"
_DATES = "datetime and business-day arithmetic: not numeric arrays to differentiate"
_POLY = "the legacy polynomial API: write the polynomial with fnp operations (e.g. a Horner loop)"
_RUNTIME = "NumPy's own build, memory and Python-object machinery: use numpy's"
_BITS = "bit packing of integer buffers: use numpy's"

NOT_PROVIDED = {
    **dict.fromkeys(
        "load save savez savez_compressed loadtxt savetxt genfromtxt fromfile frombuffer "
        "fromregex fromstring fromiter from_dlpack".split(),
        _IO,
    ),
    **dict.fromkeys(
        "array2string array_repr array_str base_repr binary_repr format_float_positional "
        "format_float_scientific typename info".split(),
        _TEXT,
    ),
    **dict.fromkeys(
        "busday_count busday_offset is_busday datetime_as_string datetime_data isnat".split(),
        _DATES,
    ),
    **dict.fromkeys(
        "poly polyadd polyder polydiv polyfit polyint polymul polysub polyval roots".split(),
        _POLY,
    ),
    **dict.fromkeys(
        "get_include show_config show_runtime test getbufsize setbufsize geterrcall "
        "seterrcall may_share_memory shares_memory isfortran require asfortranarray copyto "
        "frompyfunc nested_iters asmatrix bmat mintypecode common_type".split(),
        _RUNTIME,
    ),
    **dict.fromkeys("packbits unpackbits bitwise_count".split(), _BITS),
    **dict.fromkeys(
        "nextafter spacing".split(),
        "steps of one unit in the last place: bit-level float operations with no "
        "gradient; use numpy's",
    ),
    "i0": "a Bessel function: special functions belong in funcgrad.scipy.special",
    "sort_complex": "complex arrays are not supported yet",
    "put_along_axis": "writes into its argument in place, and funcgrad's arrays are "
    "immutable: scatter with fnp.where, or build the result with take_along_axis",
    **dict.fromkeys(
        "place put putmask fill_diagonal".split(),
        "writes into its argument in place, and funcgrad's arrays are immutable: build the "
        "new array with fnp.where instead",
    ),
    "random": "for host-side random numbers use numpy.random; inside transformed functions "
    "funcgrad.random (explicit keys, as jax.random)",
    "fft": "not provided yet (complex arrays and the FFT are a later addition)",
    "ma": "masked arrays: use fnp.where with a mask",
    "char": _TEXT,
    "strings": _TEXT,
    "rec": "record arrays: not numeric arrays to differentiate",
    "polynomial": _POLY,
}


def missing(module_name, name, provided):
    """The AttributeError for ``module_name.name``: why it is missing, and what is close."""
    message = f"module {module_name!r} has no attribute {name!r}"
    if name in NOT_PROVIDED:
        message += f": {NOT_PROVIDED[name]}"
    elif hasattr(np, name):
        message += (
            f": funcgrad.numpy does not provide numpy.{name} yet (call numpy.{name} on "
            "concrete arrays outside the transformed function)"
        )
    close = difflib.get_close_matches(name, provided, n=3, cutoff=0.75)
    if close and name not in NOT_PROVIDED:
        message += f". Did you mean: {', '.join(close)}?"
    return AttributeError(message)
