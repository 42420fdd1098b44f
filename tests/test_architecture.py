"""Data flows one way: trace -> graph -> autodiff/batching -> passes -> lower -> schedule ->
memory -> program -> executor.

Each stage imports only the stages before it; this test reads every module's imports (with
``ast``, importing nothing) and holds the pipeline's modules to that order.
"""

import ast
import pathlib

import pytest

import funcgrad

ROOT = pathlib.Path(funcgrad.__file__).parent

# module (or package, with ".*") -> the funcgrad modules it may import
ALLOWED = {
    "errors": set(),
    "core": {"errors"},
    "primitives.*": {"core", "errors", "conv_numpy", "primitives.*"},
    "autodiff": {"core", "primitives"},
    "batching": {"core", "errors", "primitives"},
    "reference": {"core", "errors"},
    "_kernels.*": {"_kernels.*"},
    "runtime": {"core", "reference", "compiler.*"},
    # control flow and convolution, above the transforms: their rules derive sub-graphs
    "lax.*": {
        "core",
        "errors",
        "primitives",
        "autodiff",
        "batching",
        "runtime",
        "numpy",
        "tree",
        "tracing",
        "conv_numpy",
        "api",
        "lax.*",
    },
}
# The compiler's modules in pipeline order, each with what it may import from outside the
# compiler; from inside, it may import the modules before it, never one after.
# (conv_numpy: the convolution geometry the kernels and the reference share)
COMPILER = [
    ("compiler", set()),
    ("compiler.isa", set()),
    ("compiler.layout", set()),
    ("compiler.conv_forms", {"conv_numpy"}),
    ("compiler.passes", {"core", "primitives"}),
    ("compiler.folds", {"core", "primitives"}),
    ("compiler.fusion", {"core", "primitives"}),
    ("compiler.templates", set()),
    ("compiler.lapack", {"core", "primitives", "threads", "_kernels.*"}),
    ("compiler.instructions.*", {"core"}),
    ("compiler.lower", {"core", "primitives", "_kernels.*"}),
    ("compiler.schedule", set()),
    ("compiler.memory", set()),
    ("compiler.nested", {"core"}),  # (a scan's body through the stages before it)
    ("compiler.program", {"core", "errors", "threads", "_kernels.*"}),
]
for _k, (_stage, _outside) in enumerate(COMPILER):
    _own = {_stage} if _stage.endswith(".*") else set()  # a package's modules import each other
    ALLOWED[_stage] = _outside | _own | {earlier for earlier, _ in COMPILER[:_k]}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """The funcgrad modules ``path`` imports, relative to the package (``compiler.isa``)."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.add(".".join(base + [node.module]))
            else:
                found.update(".".join(base + [a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("funcgrad."):
            found.add(node.module.removeprefix("funcgrad."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("funcgrad.")
                for a in node.names
                if a.name.startswith("funcgrad.")
            )
    return found


def _matches(name, pattern):
    if pattern.endswith(".*"):
        return name == pattern[:-2] or name.startswith(pattern[:-1])
    return name == pattern


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_each_stage_imports_only_the_stages_before_it(stage):
    modules = [m for m in MODULES if _matches(m, stage)]
    assert modules, f"no module is {stage}"
    for module in modules:
        for dep in _imports(MODULES[module]):
            assert any(_matches(dep, ok) for ok in ALLOWED[stage]), f"{module} imports {dep}"


def test_every_compiler_module_has_its_place_in_the_pipeline():
    for module in MODULES:
        if _matches(module, "compiler.*"):
            assert sum(_matches(module, stage) for stage, _ in COMPILER) == 1, module


def test_the_import_reader_sees_relative_and_absolute_imports():
    # (so that the test above cannot pass by reading nothing)
    assert {"core", "primitives"} <= _imports(ROOT / "autodiff.py")
    assert {"compiler.lower", "_kernels.executor"} <= _imports(ROOT / "compiler" / "program.py")
    assert "compiler.isa" in _imports(ROOT / "compiler" / "instructions" / "base.py")
