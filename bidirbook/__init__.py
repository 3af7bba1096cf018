"""bidirbook: the book's helpers, apart from the library.

The chapters of the book import these; `bidirlib` itself never does. Each module holds one concern:

- `bidirbook.data`: the generated data sets the chapters train on;
- `bidirbook.plot`: the book's figures (needs matplotlib, which the `book` extra installs);
- `bidirbook.chapter`: a chapter's setup cell (seeds, determinism, where it runs);
- `bidirbook.recipes`: the Keras API page's examples, as functions a reader can call and read.

Nothing is imported here, so `import bidirbook.data` does not pull in matplotlib.
"""
