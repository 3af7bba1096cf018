"""What importing bidirlib needs, and what it must not pull in.

bidirlib imports only Keras and NumPy (DESIGN.md): it must import and work without matplotlib, and with only one
backend installed, so no module of it may import matplotlib, TensorFlow, PyTorch or JAX at import time. Every
import of Keras's or TensorFlow's internals lives in one module. The book's generated data needs no matplotlib
either. The runtime checks run in a fresh interpreter each, with the missing packages blocked by an import hook.
"""

import ast
import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "bidirlib"

# Installed in a fresh interpreter before anything else is imported: importing any of the named top-level
# packages, or a submodule of one, raises ImportError, as if it were not installed.
BLOCKER = """
import sys

class _Blocked:
    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ImportError(f"{{name}} is blocked by the test (as if not installed)", name=name)
        return None

sys.meta_path.insert(0, _Blocked({blocked!r}))
"""

WRAP_AN_LSTM = """
import numpy as np
import keras
import bidirlib

layer = bidirlib.Bidirectional(keras.layers.LSTM(3))
outputs = keras.ops.convert_to_numpy(layer(np.random.default_rng(0).standard_normal((2, 4, 5)).astype("float32")))
assert outputs.shape == (2, 6), outputs.shape
assert np.all(np.isfinite(outputs))
"""

REPORT_BLOCKED = """
leaked = sorted(name for name in sys.modules if name.partition(".")[0] in {blocked!r})
assert not leaked, f"blocked modules were imported: {{leaked}}"
print("ok", keras.backend.backend() if "keras" in sys.modules else "-")
"""


def run_without(blocked, code, backend=None):
    """Runs `code` in a fresh interpreter in which the packages `blocked` cannot be imported; returns its stdout."""
    blocked = sorted(blocked)
    script = BLOCKER.format(blocked=blocked) + textwrap.dedent(code) + REPORT_BLOCKED.format(blocked=blocked)
    path = [str(ROOT)] + [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, f"the subprocess failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    return result.stdout


def test_bidirlib_works_without_matplotlib():
    out = run_without({"matplotlib"}, WRAP_AN_LSTM)
    assert out.strip().splitlines()[-1].startswith("ok ")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_bidirlib_works_with_only_keras_numpy_and_jax():
    out = run_without({"matplotlib", "tensorflow", "torch"}, WRAP_AN_LSTM, backend="jax")
    assert out.strip().splitlines()[-1] == "ok jax"


def test_book_data_imports_without_matplotlib():
    code = """
    from bidirbook import data

    x, y = data.neighbour_sum_task(2, 3, seed=0)
    assert x.shape == y.shape == (2, 3, 1)
    """
    out = run_without({"matplotlib"}, code)
    assert out.strip().splitlines()[-1].startswith("ok ")


# What the website's API page documents (api.md's autodoc directives): the build imports each one with only the
# `site` extra installed (Keras on JAX, no matplotlib, no TensorFlow). The CI stage that builds the site in a
# venv of that extra alone is the real check; this one finds the same fault in seconds in any environment.
API_TARGETS = re.compile(r"^\.\. auto(module|function|class|data):: ([\w.]+)", re.M)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_every_module_the_api_page_documents_imports_with_the_site_extra_alone():
    targets = API_TARGETS.findall((ROOT / "api.md").read_text())
    # An automodule names a module; any other directive names an object inside one.
    modules = sorted({name if kind == "module" else name.rpartition(".")[0] for kind, name in targets})
    assert "bidirbook.schematic" in modules and "bidirlib" in modules, modules
    code = "import importlib\nimport keras\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    out = run_without({"matplotlib", "tensorflow", "torch"}, code, backend="jax")
    assert out.strip().splitlines()[-1] == "ok jax"


def library_modules():
    return sorted(LIBRARY.rglob("*.py"))


def imported_names(node):
    """The dotted names an import statement, or an `importlib.import_module`/`__import__` call on a string,
    imports (`from a.b import c` gives `a.b` and `a.b.c`); none for a relative import."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level or not node.module:
            return []
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def imports(path):
    """Yields `(dotted name, line, inside a function)` for each import in the file at `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def visit(node, in_function):
        for name in imported_names(node):
            yield name, node.lineno, in_function
        # A function's body runs when it is called; its decorators and default values run at import time.
        body = node.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else []
        body = body if isinstance(body, list) else [body]
        for child in ast.iter_child_nodes(node):
            yield from visit(child, in_function or any(child is part for part in body))

    yield from visit(tree, False)


def names_package(name, packages):
    """Whether the dotted `name` is one of `packages` (dotted too) or inside one."""
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_no_heavy_import_at_bidirlib_import_time():
    heavy = ("matplotlib", "tensorflow", "torch", "jax")
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in library_modules()
        for name, line, in_function in imports(path)
        if not in_function and names_package(name, heavy)
    ]
    assert not found, "import these only inside the functions that need them:\n" + "\n".join(found)


def test_keras_and_tensorflow_internals_are_imported_in_one_module():
    # Fails until bidirlib/keras_internals.py holds every such import.
    internals = ("keras.src", "tensorflow.python")
    importers = {
        path.relative_to(ROOT).as_posix()
        for path in library_modules()
        for name, _, _ in imports(path)
        if names_package(name, internals)
    }
    assert importers <= {"bidirlib/keras_internals.py"}, (
        f"only bidirlib/keras_internals.py may import {' or '.join(internals)}; these do: {sorted(importers)}"
    )


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph():
    """bidirlib's modules and, for each, the bidirlib modules it imports when it is imported (not in functions).

    `from a.b import c` counts as importing `a.b.c` when that is a module, else `a.b`. The package a module sits in
    is left out: Python runs a package's `__init__` first whatever the module imports.
    """
    modules = {module_name(path): path for path in library_modules()}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported, _, in_function in imports(path):
            if in_function or not names_package(imported, ("bidirlib",)):
                continue
            while imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and not name.startswith(imported + ".") and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_bidirlib_has_no_import_cycle():
    graph = module_graph()
    state, cycles = {}, []

    def visit(name, trail):  # depth-first; a module met again on the current trail closes a cycle
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_errors_module_imports_nothing_from_bidirlib():
    # Every module may raise through bidirlib.errors, the checker included: it can import none of them.
    assert module_graph()["bidirlib.errors"] == set()


def public_objects():
    """The objects of bidirlib's public surface: `__all__` of bidirlib, bidirlib.fused and bidirlib.layers."""
    import bidirlib

    found = {}
    for namespace in (bidirlib, bidirlib.fused, bidirlib.layers):
        for name in namespace.__all__:
            found[f"{namespace.__name__}.{name}"] = getattr(namespace, name)
    return found


def test_the_api_page_documents_the_public_surface_only():
    """api.md documents bidirlib's public names (as their own modules define them), and every one of them."""
    public = public_objects()
    documented = set()
    for kind, target, members in re.findall(
        r"^\.\. auto(module|function|class|data):: (bidirlib[\w.]*)\n((?:   :\w[^\n]*\n)*)", (ROOT / "api.md").read_text(), re.M
    ):
        module, _, attribute = target.rpartition(".")
        names = [target] if kind != "module" else []
        listed = re.search(r":members: (.*)", members)
        if kind == "module" and listed:
            names += [f"{target}.{member.strip()}" for member in listed.group(1).split(",")]
        for name in names:
            owner, _, attribute = name.rpartition(".")
            obj = getattr(importlib.import_module(owner), attribute)
            assert any(obj is value for value in public.values()), f"api.md documents {name}, which is not public"
            documented.update(key for key, value in public.items() if value is obj)
    documented.update(re.findall(r"^\.\. py:data:: (bidirlib[\w.]*)", (ROOT / "api.md").read_text(), re.M))
    undocumented = sorted(set(public) - documented - {"bidirlib.__version__", "bidirlib.fused", "bidirlib.layers"})
    assert not undocumented, f"public but not on the API page: {undocumented}"
