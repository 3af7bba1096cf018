"""Every exercise solution runs, and checks what it says.

A chapter's solutions are Markdown (a `<details>` block under each exercise), so nbval never runs them. This
test runs each chapter's code cells top to bottom in one kernel, in the environment the chapters are recorded
in, and then every Python block of its solutions, in order, in the same kernel: a solution may use anything
the chapter defined. A solution states its numbers and claims with `assert`s, so a solution that no longer
holds fails here.

It re-runs every chapter, which takes minutes: it is marked `solutions`, which a plain `pytest` leaves out and
.ci/run runs. It runs on the backend `KERAS_BACKEND` names, TensorFlow if none. Run it with

    pytest -m solutions --dist load

(each chapter is a test of one file: `--dist load` hands them out one by one) or one chapter with
`-k 03_merge_mode`.
"""

import os
import pathlib
import re
import time

import nbformat
import pytest

from notebook_rules import RECORDING_ENVIRONMENT, marked_to_raise, solution_code

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

def chapter_with_solutions(path):
    """The chapter's code cells, outputs cleared, then one cell per solution code block."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    solutions = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cells.append(cell)
        elif cell.cell_type == "markdown":
            solutions.extend(solution_code(cell.source))
    for block in solutions:
        solution = nbformat.v4.new_code_cell(block)
        solution.metadata["solution"] = True
        cells.append(solution)
    nb.cells = cells
    return nb, len(solutions)


def run_chapter_and_solutions(path, timeout=600):
    """Runs the chapter and its solutions.

    Returns:
        `(problems, seconds, printed)`: the errors raised (an empty list when all is well), and for each
        solution block the seconds it took and what it printed.
    """
    from nbclient import NotebookClient

    nb, _ = chapter_with_solutions(path)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        # Solutions that write files (np.savez, model.save) write them in a scratch folder.
        resources={"metadata": {"path": str(path.parent)}},
    )
    problems = []
    timings = []
    printed = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            is_solution = cell.metadata.get("solution", False)
            if is_solution and not timings:
                # Files a solution writes land in a scratch folder, not in chapters/.
                client.execute_cell(
                    nbformat.v4.new_code_cell("import os as _os, tempfile as _tempfile\n"
                                              "_os.chdir(_tempfile.mkdtemp(prefix='solutions-'))"),
                    index,
                )
            start = time.perf_counter()
            client.execute_cell(cell, index)
            if is_solution:
                timings.append(time.perf_counter() - start)
                printed.append("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and not (marked_to_raise(cell) and not is_solution):
                where = f"solution block {len(timings)}" if is_solution else f"chapter cell {index}"
                problems.append(
                    f"{path.name}, {where} raised {errors[0].ename}: {errors[0].evalue}\n{cell.source}"
                )
                if not is_solution:
                    break  # the solutions need the chapter
    return problems, timings, printed


@pytest.fixture(autouse=True)
def _recording_environment(monkeypatch):
    # The environment the chapters are recorded in, but on the backend this run chose, if it chose one: CI runs
    # the chapters and their solutions on JAX and on PyTorch (the notebooks tier runs them on TensorFlow).
    for key, value in RECORDING_ENVIRONMENT.items():
        monkeypatch.setenv(key, os.environ.get(key, value) if key == "KERAS_BACKEND" else value)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_every_chapter_has_solution_code(path):
    nb, count = chapter_with_solutions(path)
    assert count >= 1, f"{path.name}: no Python block in any <details> solution"
    for cell in nb.cells:
        if cell.metadata.get("solution"):
            # A solution states numbers and claims; its code checks them.
            assert re.search(r"\bassert\b|assert_allclose|assert_array", cell.source), (
                f"{path.name}: a solution block makes no check:\n{cell.source}"
            )


@pytest.mark.solutions
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_solutions_run_after_the_chapter(path):
    problems, timings, _ = run_chapter_and_solutions(path)
    print(f"{path.name}: solutions ran in " + ", ".join(f"{t:.1f} s" for t in timings))
    assert not problems, "\n\n".join(problems)


if __name__ == "__main__":
    # python tests/book/test_solutions.py chapters/03_merge_mode.ipynb: run one chapter's solutions.
    import sys

    os.environ.update(RECORDING_ENVIRONMENT)
    for name in sys.argv[1:]:
        start = time.perf_counter()
        found, seconds, _ = run_chapter_and_solutions(pathlib.Path(name).resolve())
        print(f"{name}: {time.perf_counter() - start:.1f} s in all; solutions: "
              + ", ".join(f"{t:.1f} s" for t in seconds))
        for problem in found:
            print("PROBLEM:", problem, sep="\n")
