#!/usr/bin/env python
"""Re-records the outputs of the book's chapters.

Usage:

    python scripts/record_notebooks.py                      # every chapters/*.ipynb
    python scripts/record_notebooks.py chapters/01_*.ipynb  # some of them

Each notebook is executed top to bottom in one fresh kernel, in a fixed
environment (TensorFlow backend on the CPU, fixed hash seed, deterministic
ops), and its outputs are written back into the file with execution counts
1..N. This is the environment `pytest --nbval` re-runs them in, so the
committed outputs are the ones nbval compares against.

The script fails loudly (exit status 1) when:

- a cell raises, unless it is tagged to raise (`raises-exception` or
  `nbval-raises-exception`); a tagged cell that does not raise fails too;
- a code cell is empty (it would get no execution count), or holds a
  `# NBVAL_...` comment (nbval's markers are cell tags in this book);
- an output holds a machine path (`/root/`, `/tmp/`, `/work/`, `/home/`,
  `site-packages`): a warning that prints a path is a problem to fix at its
  cause, not output to commit.

A notebook that fails is not written back. An error output is written back
with a one-line traceback, `ExceptionType: message` (the full one lists
library files by their paths), so the website, which draws an error from its
traceback, shows what went wrong; nbval compares the error's name and message
and not its traceback. The rules live in `notebook_rules.py` (the repository's root), which the
chapter tests share.
"""

import argparse
import os
import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # notebook_rules.py, at the repository's root

from notebook_rules import (  # noqa: E402
    RECORDING_ENVIRONMENT,
    error_traceback,
    machine_paths,
    marked_to_raise,
    nbval_comments,
)

#: The environment every chapter is recorded in. The kernel inherits it.
ENVIRONMENT = RECORDING_ENVIRONMENT


class RecordError(Exception):
    """A notebook could not be recorded."""


def short(text, limit=2000):
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # drop ANSI colours
    return text if len(text) <= limit else text[:limit] + "\n[...]"


def check_cell(path, index, cell):
    errors = [o for o in cell.outputs if o.output_type == "error"]
    if marked_to_raise(cell):
        if not errors:
            raise RecordError(
                f"{path}: cell {index} is marked to raise an exception but "
                "ran without one:\n" + short(cell.source)
            )
    elif errors:
        error = errors[0]
        raise RecordError(
            f"{path}: cell {index} raised {error.ename}: {error.evalue}\n"
            + short(cell.source)
            + "\n"
            + short("\n".join(error.traceback))
        )
    for output in cell.outputs:
        # An error's full traceback lists library files by their paths and is
        # never committed (record() shortens it to its last line), so what is
        # checked is what is kept.
        if output.get("output_type") == "error":
            output = {**output, "traceback": error_traceback(output.ename, output.evalue)}
        for found, text in machine_paths(output):
            raise RecordError(
                f"{path}: cell {index} printed a machine path "
                f"({found!r}); fix what prints it:\n" + short(text)
            )


def record(path, timeout, kernel_name):
    """Executes one notebook and writes its outputs back.

    Returns:
        The number of seconds the notebook took to run.
    """
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not cell.source.strip():
            raise RecordError(f"{path}: cell {index} is an empty code cell; remove it.")
        for comment in nbval_comments(cell):
            raise RecordError(
                f"{path}: cell {index} holds {comment!r}; make it a cell tag "
                "(raises-exception, nbval-ignore-output) so the code reads clean."
            )

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        # Errors are checked cell by cell below, so that a cell marked to
        # raise may raise and any other error stops the run at once.
        allow_errors=True,
        record_timing=False,
        # C-level writes to the kernel's stdout/stderr (TensorFlow's C++
        # start-up log, which TF 2.21 prints before TF_CPP_MIN_LOG_LEVEL
        # takes effect) go to this script's terminal, where they are shown,
        # instead of into the setup cell's committed output. Python-level
        # output (print, warnings) is recorded as usual.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    with client.setup_kernel():
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            client.execute_cell(cell, index, store_history=True)
            if cell.execution_count != count:
                raise RecordError(
                    f"{path}: cell {index} got execution count "
                    f"{cell.execution_count}, expected {count}."
                )
            check_cell(path, index, cell)
    elapsed = time.perf_counter() - start

    for cell in nb.cells:
        # Keep no per-run metadata that would change on every recording.
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "error":
                    # The full traceback holds file paths and colours; keep
                    # the line a reader needs. nbval does not compare it.
                    output.traceback = error_traceback(output.ename, output.evalue)
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=pathlib.Path,
        help="notebooks to record (default: every chapters/*.ipynb)",
    )
    parser.add_argument(
        "--timeout", type=int, default=600, help="seconds a cell may run (default 600)"
    )
    parser.add_argument(
        "--kernel", default="python3", help="kernel name (default python3)"
    )
    args = parser.parse_args(argv)

    notebooks = [p.resolve() for p in args.notebooks] or sorted(
        (ROOT / "chapters").glob("*.ipynb")
    )
    if not notebooks:
        parser.error("no notebooks to record")
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        parser.error("no such notebook: " + ", ".join(missing))

    os.environ.update(ENVIRONMENT)
    failures = 0
    total = 0.0
    for path in notebooks:
        name = os.path.relpath(path, ROOT)
        try:
            elapsed = record(path, args.timeout, args.kernel)
        except RecordError as error:
            failures += 1
            print(f"FAILED {name}\n{error}", file=sys.stderr, flush=True)
            continue
        total += elapsed
        print(f"recorded {name} in {elapsed:.1f} s", flush=True)
    print(f"{len(notebooks) - failures} of {len(notebooks)} notebook(s) recorded; "
          f"{total:.1f} s in all", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
