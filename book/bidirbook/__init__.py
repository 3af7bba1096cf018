"""bidirbook: the book's helpers, apart from the library.

The chapters of the book import these; `bidirlib` itself never does. bidirbook is its own distribution, in the
repository's `book/` folder (`pip install -e "./book[chapters]"`; on Colab, a chapter's install cell installs it
from git). Each module holds one job; the chapters that import it are in brackets (`ref` is the Reference part's
notebook of Keras's defects):

Every chapter:

- `bidirbook.chapter`: a chapter's setup cell (seeds, determinism, the device it runs on), 64-bit floats for a
  chapter that trains, and the repository's checkout for a chapter that runs its scripts [1-15, ref];
- `bidirbook.source`: `show_source`, the project's real source printed in a chapter [1-3, 5-9, 11-15, ref];
- `bidirbook.plot`: the book's figures (curves, bars, panels) [1-3, 6, 8-13, 15];
- `bidirbook.schematic`: the picture of the layer unrolled over time [1, 3, 6, 9].

Generated data and small models:

- `bidirbook.data`: the generated data sets of the argument chapters (neighbour and class tasks) [1, 3, 4, 7, 8, 10];
- `bidirbook.from_scratch`: a bidirectional layer in a few lines of `keras.ops`, to compare with bidirlib's [1];
- `bidirbook.recipes`: ready-made backward layers, as functions a reader can call and read [5, 8].

The real-data part ("Bidirectional layers at work"):

- `bidirbook.treebank`: the Turkish Web Treebank, read from its wheel with the `conllu` parser [12];
- `bidirbook.batches`: `LengthBatches`, batches of sentences of similar length [12];
- `bidirbook.paper_task`: the regression task of Schuster and Paliwal's experiments, and its exact floors [13];
- `bidirbook.co2`: Mauna Loa's weekly CO2 record from the statsmodels wheel, and the gap-filling task [14];
- `bidirbook.intervals`: paired differences with (block) bootstrap intervals, to compare two models [12-14];
- `bidirbook.scaling`: the small model trained on one device, data-parallel, or with its directions on two
  devices (`python -m bidirbook.scaling`; `scripts/multi_worker.py` trains it in two processes) [15].

Nothing is imported here, and no module imports matplotlib, statsmodels, `conllu` or a backend at import time
(each is imported in the function that needs it), so the website's build imports every module with bidirbook's
dependencies alone; the `chapters` extra installs what the chapters call.
"""
