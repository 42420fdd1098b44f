"""How many threads funcgrad's compiled kernels use, and keeping BLAS out of their way.

The kernels (convolutions, pooling, large GEMMs and elementwise kernels) run on funcgrad's
own OpenMP threads: ``FUNCGRAD_NUM_THREADS``, else one per CPU this process may use. BLAS
libraries keep thread pools of their own, and two pools spinning for the same cores made
training steps 10-60x slower on two cores. So while a compiled program that uses threads
runs, the BLAS libraries loaded in the process (found by threadpoolctl) run on one thread
each, and funcgrad's threads split the GEMMs among themselves; BLAS gets its threads back
when the program returns. Processes forked from this one (multiprocessing on Linux) run the
kernels on one thread: GNU OpenMP's threads do not survive fork.

>>> import funcgrad as fg
>>> n = fg.get_num_threads()
>>> fg.set_num_threads(1)
>>> fg.get_num_threads()
1
>>> fg.set_num_threads(n)
"""

import numbers
import os
import threading

_lock = threading.Lock()
_running = 0  # compiled programs running with BLAS held to one thread
_saved = []  # (library controller, its thread count) while _running > 0
_blas = None  # threadpoolctl controllers of the BLAS libraries, found on first use


def _after_fork_in_child():
    """A forked child runs the kernels on its own thread: the parent's OpenMP threads are not
    there, and GNU libgomp would wait for them forever."""
    global _lock, _running
    _lock, _running = threading.Lock(), 0
    _saved.clear()
    try:
        _kernels().set_num_threads(1)
        _kernels().set_blas_threaded(True)
    except ImportError:  # no compiled kernels: nothing runs threads
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _kernels():
    from ._kernels import conv  # raises ImportError when the extension is not built

    return conv


def set_num_threads(n):
    """Use ``n`` threads in funcgrad's compiled kernels (1: everything on the calling
    thread, and BLAS keeps its own threads)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _kernels().set_num_threads(int(n))


def get_num_threads():
    """The number of threads funcgrad's compiled kernels use."""
    return _kernels().get_num_threads()


def hold_blas():
    """Run BLAS on one thread until the matching :func:`release_blas` (nestable and
    thread-safe: the first holder saves the libraries' settings, the last restores them)."""
    global _running, _blas
    with _lock:
        if _running == 0:
            if _blas is None:
                from threadpoolctl import ThreadpoolController

                _blas = ThreadpoolController().select(user_api="blas").lib_controllers
            _saved[:] = [(lib, lib.num_threads) for lib in _blas]
            for lib, n in _saved:
                if n != 1:
                    lib.set_num_threads(1)
            _kernels().set_blas_threaded(False)
        _running += 1


def release_blas():
    global _running
    with _lock:
        _running -= 1
        if _running == 0:
            _kernels().set_blas_threaded(True)
            for lib, n in _saved:
                if n != 1:
                    lib.set_num_threads(n)
            _saved.clear()
