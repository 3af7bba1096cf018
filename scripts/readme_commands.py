#!/usr/bin/env python
"""The README's two set-up commands, read from the README itself.

The README promises that one command builds the book and one runs the tests. CI runs exactly those two, each in
a fresh virtual environment of its own, by reading them here, so that the README and CI cannot drift apart; the
repository tests read them here too.

Usage:

    python scripts/readme_commands.py site   # prints the command that builds the book
    python scripts/readme_commands.py test   # prints the command that runs the tests
"""

import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"

#: How each command starts: it installs this checkout's two distributions, bidirlib (the root, with one extra)
#: and the book's helpers, bidirbook (`book/`; with its `chapters` extra for the tests), then runs one tool.
PATTERNS = {
    "site": re.compile(r'^pip install -e "\.\[site\]" -e "\./book" && jupyter-book build .*$'),
    "test": re.compile(r'^pip install -e "\.\[test\]" -e "\./book\[chapters\]" && pytest\b.*$'),
}


def readme_command(name, readme=None):
    """The one line of a ```bash block of the README that is the `name` command ("site" or "test")."""
    text = README.read_text() if readme is None else readme
    lines = [line.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    found = [line for line in lines if PATTERNS[name].match(line)]
    if len(found) != 1:
        raise LookupError(f"the README should show the {name} command once in a bash block; found {found}")
    return found[0]


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PATTERNS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(PATTERNS)}}}")
    print(readme_command(sys.argv[1]))
