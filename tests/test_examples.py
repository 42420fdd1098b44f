"""Every example runs end to end with --quick and reports its result."""

import os
import pathlib
import subprocess
import sys

import pytest

import funcgrad

EXAMPLES = sorted(
    p
    for p in (pathlib.Path(__file__).parents[1] / "examples").glob("*.py")
    if not p.name.startswith("_")
)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_quick(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    # The same funcgrad the tests import (an installed copy, or the source tree).
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pathlib.Path(funcgrad.__file__).parents[1]), env.get("PYTHONPATH", "")]
    )
    args = [sys.executable, str(script)] + (["--quick"] if script.stem != "quickstart" else [])
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    if script.stem != "quickstart":
        assert f"RESULT {script.stem}:" in proc.stdout, proc.stdout[-2000:]
