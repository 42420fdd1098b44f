"""Every ``>>>`` example in funcgrad's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import funcgrad

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(funcgrad.__path__, "funcgrad.")
    if "_kernels" not in m.name
)


@pytest.mark.parametrize("name", ["funcgrad"] + MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
