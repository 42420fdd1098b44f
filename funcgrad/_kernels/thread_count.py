"""The number of threads the compiled kernels start with, from the environment.

Plain Python, read by this package's ``__init__`` when the kernels load (``threads.py``, on
top of the kernels, sets and reads the count afterwards).
"""

import os


def default_num_threads():
    """``FUNCGRAD_NUM_THREADS`` if set, else the CPUs this process may run on."""
    value = os.environ.get("FUNCGRAD_NUM_THREADS")
    if value is not None:
        if not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"FUNCGRAD_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
