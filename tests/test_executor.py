"""The executor's loop (funcgrad/_kernels/executor.pyx) on hand-written programs: each
instruction's kernel comes from a table indexed by opcode, so a program is checked once,
when the executor is made."""

import numpy as np
import pytest
from funcgrad._kernels.executor import OPCODES, Executor

FILL = OPCODES["fill"]


def test_a_fill_program_runs():
    # [length, opcode, dtype (1: float64), dst, count, const index]: value 1.5, step 0.25
    code = np.array([6, FILL, 1, 0, 4, 0], np.int64)
    out = np.zeros(4)
    Executor(code, np.array([1.5, 0.25]), [], 1).run([out])
    np.testing.assert_array_equal(out, 1.5 + 0.25 * np.arange(4))


@pytest.mark.parametrize(
    "code",
    [
        [2, 99],  # no such opcode
        [2, -1],
        [2, 0],  # an opcode without a kernel
        [1, FILL],  # a length shorter than length and opcode
        [7, FILL, 1, 0, 4, 0],  # past the end of the program
        [6, FILL, 1, 0, 4, 0, 2],  # a second instruction cut short
    ],
)
def test_the_executor_refuses_what_is_not_a_program(code):
    with pytest.raises(ValueError, match="not an instruction at position"):
        Executor(np.array(code, np.int64), np.zeros(2), [], 1)
