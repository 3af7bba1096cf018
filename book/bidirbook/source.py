"""Showing the project's real source in a chapter.

A chapter that discusses how bidirlib does something prints the code itself, from the installed package, in a
code cell. The printed source is the cell's output, so nbval notices when the code changes and the book cannot
drift from it; and the same cell reads the same on the website, in JupyterLab and in Colab.
"""

import inspect
import textwrap

__all__ = ["show_source"]


def show_source(obj):
    """Print the source of a function, class or method, as it is in the installed package.

    Args:
        obj: a function, class, method or module defined in Python source.

    Example:

    >>> from bidirbook.source import show_source
    >>> def double(x):
    ...     return 2 * x
    >>> show_source(double)  # doctest: +SKIP
    def double(x):
        return 2 * x
    """
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise ValueError(
            f"show_source needs a function, class, method or module written in Python. Received: {obj!r} "
            f"({type(error).__name__}: {error})."
        ) from None
    print(textwrap.dedent(source).rstrip("\n"))
