"""The crash fuzzer of tests/test_fuzz.py, for minutes instead of seconds (not run in CI).

    python tools/fuzz.py --minutes 10 [--seed 1]

Draws random programs over random dtypes and layouts, runs each compiled and on the
reference interpreter (eagerly, under jit and under grad) in a worker process, and prints
every case that crashed the worker or differed from the reference, then how many ran.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from crash_fuzz import Worker, cases  # noqa: E402


def main():
    from hypothesis import HealthCheck, Phase, given, seed, settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-ops", type=int, default=8)
    args = parser.parse_args()
    state = {"worker": Worker(), "ran": 0, "failed": 0}
    deadline = time.monotonic() + 60 * args.minutes

    @seed(args.seed)
    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(max_ops=args.max_ops))
    def fuzz(case):
        if time.monotonic() > deadline:
            raise _TimeUp
        result = state["worker"].run(case)
        state["ran"] += 1
        if result != "ok":  # reported, not raised: the run goes on to other cases
            state["failed"] += 1
            print(f"case {state['ran']}: {result}\n  {case}", flush=True)
            if not state["worker"].alive():
                state["worker"] = Worker()

    try:
        fuzz()
    except _TimeUp:
        pass
    state["worker"].close()
    print(f"{state['ran']} cases in {args.minutes:g} minutes, {state['failed']} failed")
    return 1 if state["failed"] else 0


class _TimeUp(Exception):
    pass


if __name__ == "__main__":
    sys.exit(main())
