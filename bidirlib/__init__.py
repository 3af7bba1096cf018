"""bidirlib: a drop-in `keras.layers.Bidirectional` without its known defects, ready layers, and a checker.

It imports only Keras and NumPy (and, when called, the active backend). The book's helpers live apart, in
`bidirbook`.

Importing `bidirlib` registers `bidirlib.Bidirectional` for `.keras` saving, so a saved model loads after
`import bidirlib`.
"""

from bidirlib import fused, layers
from bidirlib.bidirectional import Bidirectional
from bidirlib.checker import CriterionResult, SequenceLayerReport, check_sequence_layer
from bidirlib.convert import load_as_bidirlib, to_bidirlib, to_keras
from bidirlib.export import ExportCheck, check_export
from bidirlib.fused import cudnn_eligibility
from bidirlib.merge import MERGE_MODES

__version__ = "0.1.0"

__all__ = [
    "Bidirectional",
    "CriterionResult",
    "ExportCheck",
    "MERGE_MODES",
    "SequenceLayerReport",
    "__version__",
    "check_export",
    "check_sequence_layer",
    "cudnn_eligibility",
    "fused",
    "layers",
    "load_as_bidirlib",
    "to_bidirlib",
    "to_keras",
]
