"""Which tests pin which of Keras's defects (the numbered sections of reference/keras_defects.ipynb).

A test pins a defect when its docstring begins with "Keras defect N" (or "Keras defects N and M"); the tests are
grouped by behaviour (masks, states, wrapping, ...), so a defect's tests may sit in any file of tests/library.
The two defects of Keras's trainer that scripts/multi_worker.py works around (17 and 18) are not the wrapper's:
their tests are in tests/book/test_multi_worker_keras_defects.py.
"""

import ast
import pathlib
import re

LIBRARY = pathlib.Path(__file__).resolve().parents[1] / "library"
#: Files outside tests/library that pin defects (of Keras, not of its wrapper).
OTHER_PINNING_FILES = [pathlib.Path(__file__).resolve().parents[1] / "book" / "test_multi_worker_keras_defects.py"]
_PINS = re.compile(r"^Keras defects? (\d+(?:(?:, | and )\d+)*)")


def pinning_tests(library=LIBRARY, others=OTHER_PINNING_FILES):
    """{defect number: [(file path relative to the repository root, test function name), ...]}, in file order."""
    found = {}
    root = pathlib.Path(library).resolve().parents[1]
    for path in [*sorted(pathlib.Path(library).glob("test_*.py")), *others]:
        for node in ast.parse(path.read_text()).body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            match = _PINS.match(ast.get_docstring(node) or "")
            if match:
                for number in re.findall(r"\d+", match.group(1)):
                    found.setdefault(int(number), []).append((path.relative_to(root).as_posix(), node.name))
    return dict(sorted(found.items()))
