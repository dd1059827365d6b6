"""The examples in simdask's docstrings run: every module's doctests, as a user would paste them.

Examples that need a live store are marked ``# doctest: +SKIP`` in place; a
module that needs an optional dependency which is not installed (torch) is
skipped with the reason.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import simdask

MODULES = sorted(m.name for m in pkgutil.walk_packages(simdask.__path__, "simdask.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if exc.name in ("torch", "onnxruntime", "onnx"):
            pytest.skip(f"{name} needs {exc.name}, which is not installed")
        raise
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see above)"
