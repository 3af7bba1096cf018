"""bidirlib: a drop-in `keras.layers.Bidirectional` without its known defects, and the book's helpers.

Importing `bidirlib` registers `bidirlib.Bidirectional` for `.keras` saving, so a saved model loads after
`import bidirlib`.
"""

from bidirlib.bidirectional import Bidirectional
from bidirlib.merge import MERGE_MODES

__version__ = "0.1.0"

__all__ = ["Bidirectional", "MERGE_MODES", "__version__"]
