"""Child Python processes that run the same funcgrad as the tests.

A child started in the repository would import the source tree (``-c`` puts the working
directory first on ``sys.path``), which is not built when funcgrad is installed with pip,
and would run on the NumPy reference instead. So children run in this directory, with the
tests' funcgrad first on ``PYTHONPATH``."""

import os
import pathlib

import funcgrad

CWD = os.path.dirname(os.path.abspath(__file__))


def env(**extra):
    """The environment for a child: ``os.environ`` and ``extra``, with the directory that
    holds the tests' funcgrad first on ``PYTHONPATH``."""
    out = dict(os.environ, **extra)
    root = str(pathlib.Path(funcgrad.__file__).parents[1])
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [root, out.get("PYTHONPATH")]))
    return out
