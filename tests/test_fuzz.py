"""Crash fuzzing: random programs over random dtypes (float16, bool, small and unsigned
ints, the other byte order) and layouts (Fortran order, negative strides, strided,
unaligned, size 0), compiled and on the reference interpreter, eagerly, under jit and
under grad, in a worker process. A crash, or a result the reference does not give, fails
with the case. ``tools/fuzz.py`` runs the same cases for as long as it is given."""

import pytest
from crash_fuzz import Worker, cases
from hypothesis import HealthCheck, given, settings


@pytest.fixture(scope="module")
def worker():
    box = [Worker()]
    yield box
    box[0].close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_programs_neither_crash_nor_differ_from_the_reference(worker, case):
    result = worker[0].run(case)
    if result.startswith("crashed"):
        worker[0] = Worker()  # for the next example (hypothesis shrinks the failing one)
    assert result == "ok", f"{result}\ncase: {case}"
