"""Every chapter runs on Colab's software stack, installed the way a chapter's
install cell installs bidirlib and the book's helpers there.

Colab keeps its own TensorFlow, Keras and NumPy, and a chapter's first code
cell adds bidirlib and bidirbook (the repository's book/ folder) with
`pip install --no-deps` from the repository. So this builds a fresh virtual
environment with the versions Colab publishes for its runtime (TensorFlow
2.20, Keras 3.13), plus the other packages the chapters import that Colab
ships (matplotlib, NumPy, ipykernel) and the test runners; installs this
repository's committed bidirlib and bidirbook with `--no-deps` from git
(`#subdirectory=book` for bidirbook, as the install cell does); and runs every chapter in that environment with
nbval in lax mode (every cell must run without error; a chapter's asserts
check its claims; outputs are compared only where a cell asks for it,
since Colab's versions print differently).

It downloads TensorFlow and takes minutes, so the `colab_stack` marker keeps
it out of a plain `pytest` run. Run it with

    pytest -m colab_stack tests/book/test_colab_stack.py -s

Set COLAB_PYTHON to another interpreter (e.g. python3.12) to build the
environment with it. The versions it used and its timings are printed and
written to _build/colab-stack/report.json.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.colab_stack

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
REPORT = ROOT / "_build" / "colab-stack" / "report.json"

# What Colab's runtime ships (as its release notes publish it), and the test runners.
COLAB_STACK = [
    "tensorflow==2.20.*",
    "keras==3.13.*",
    "matplotlib",
    "numpy",
    "ipykernel",
]
RUNNERS = ["nbval", "pytest"]

VERSIONS = """
import importlib.metadata as metadata, json, pathlib, sys
import bidirbook, bidirlib
names = ["tensorflow", "keras", "numpy", "matplotlib", "ipykernel", "nbval", "pytest",
         "ml-dtypes", "h5py", "pip", "bidirlib", "bidirbook"]
versions = {name: metadata.version(name) for name in names}
versions["python"] = sys.version.split()[0]
print(json.dumps({"versions": versions, "bidirlib_file": bidirlib.__file__,
                  "bidirbook_file": bidirbook.__file__, "prefix": sys.prefix}))
"""


def clean_environment(venv):
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "KERAS_BACKEND",
                          "PYTHONSTARTUP", "CONDA_PREFIX")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def run(command, env, cwd, timeout):
    print("$", " ".join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{command[2:5]} failed ({result.returncode}):\n{result.stdout[-8000:]}\n"
        f"{result.stderr[-4000:]}"
    )
    return result


def uncommitted_changes():
    result = subprocess.run(["git", "status", "--porcelain", "--", "bidirlib", "pyproject.toml", "book"],
                            cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip()


def test_every_chapter_runs_on_colabs_stack(tmp_path):
    assert CHAPTERS, "no chapters"
    python = os.environ.get("COLAB_PYTHON") or shutil.which("python3.11") or sys.executable
    venv = tmp_path / "colab"
    timings = {}

    start = time.perf_counter()
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    env = clean_environment(venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    # Colab's pip is recent; an old one (Python 3.11's bundled 23.2) refuses "name @ git+file://".
    run(pip + ["--upgrade", "pip"], env, tmp_path, timeout=600)
    run(pip + COLAB_STACK + RUNNERS, env, tmp_path, timeout=1800)
    timings["install Colab's stack"] = time.perf_counter() - start

    # The install cell: %pip install -q --no-deps "bidirlib @ git+<repository>"
    # "bidirbook @ git+<repository>#subdirectory=book". Here the repository is this checkout, so
    # what is installed is its last commit.
    changes = uncommitted_changes()
    if changes:
        print("NOTE: bidirlib/, book/ or pyproject.toml has uncommitted changes; the install from git "
              f"takes the last commit, without them:\n{changes}")
    start = time.perf_counter()
    run(pip + ["--no-deps", f"bidirlib @ git+file://{ROOT}", f"bidirbook @ git+file://{ROOT}#subdirectory=book"],
        env, tmp_path, timeout=600)
    timings["install bidirlib and bidirbook --no-deps"] = time.perf_counter() - start
    # The real-data chapters' install cells add their data packages, pinned in bidirbook's chapters extra, also
    # --no-deps.
    data_packages = [r.split(";")[0].strip() for r in tomllib.loads((ROOT / "book" / "pyproject.toml").read_text())
                     ["project"]["optional-dependencies"]["chapters"] if "==" in r]
    if data_packages:
        run(pip + ["--no-deps", *data_packages], env, tmp_path, timeout=600)

    found = json.loads(run([venv / "bin" / "python", "-c", VERSIONS], env, tmp_path,
                           timeout=300).stdout.strip().splitlines()[-1])
    versions = found["versions"]
    assert versions["tensorflow"].startswith("2.20."), versions
    assert versions["keras"].startswith("3.13."), versions
    # --no-deps kept Colab's stack; bidirlib and bidirbook are the installed copies, not this checkout.
    assert pathlib.Path(found["bidirlib_file"]).resolve().is_relative_to(venv.resolve()), found
    assert pathlib.Path(found["bidirbook_file"]).resolve().is_relative_to(venv.resolve()), found

    # Every chapter, in the environment's own kernel (-P: not this checkout's bidirlib; bidirbook is in book/).
    start = time.perf_counter()
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-P", "-m", "pytest", "-p", "no:cacheprovider",
         "-o", "addopts=", "--nbval-lax", "--nbval-current-env", "-q", "--durations=0",
         *[str(chapter) for chapter in CHAPTERS]],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )
    timings["run the chapters"] = time.perf_counter() - start

    report = {"versions": versions, "python": python, "chapters": [c.name for c in CHAPTERS],
              "seconds": {key: round(value, 1) for key, value in timings.items()},
              "pytest_summary": result.stdout.strip().splitlines()[-1:]}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(result.stdout[-6000:])
    assert result.returncode == 0, (
        f"chapters failed on Colab's stack ({versions}):\n{result.stdout[-12000:]}\n"
        f"{result.stderr[-3000:]}"
    )
