"""The Turkish Web Treebank, read from the `turkish-treebanks` wheel.

The `turkish-treebanks` package (Apache 2.0; Kayadelen, Öztürel and Bohnet, "A Gold Standard Dependency Treebank
for Turkish", LREC 2020) ships two CoNLL-U files, `data/web.conllu` and `data/wiki.conllu`, in a top-level `data/`
folder of its wheel. Its own reader builds protocol buffers with generated code that current `protobuf` releases
refuse, so this module finds the two files and parses them with the `conllu` package (bidirbook's `chapters` extra
installs both): a CoNLL-U sentence is a few `# key = value` comment lines, then one tab-separated line of ten
fields per token, then a blank line.

The treebank's tokens are *inflectional groups*: a word such as "açıklanmayan" is split into the stem "Açık" and
the derivational pieces "la", "nma" and "yan", each with a part-of-speech tag of its own. The splits follow the
treebank's authors: in each file, sentence `i` belongs to the development set when `i % 10 == 8`, to the test set
when `i % 10 == 9`, and to the training set otherwise.
"""

import collections
import functools
import importlib.metadata
import pathlib

__all__ = [
    "DISTRIBUTION",
    "SECTIONS",
    "GOOGLE_UNIVERSAL_TAGS",
    "TAGS",
    "UD_UPOS_TAGS",
    "SPLITS",
    "Sentence",
    "treebank_path",
    "parse_conllu",
    "split_of",
    "load_sentences",
    "lowercase",
]

#: The package on the registry that ships the files.
DISTRIBUTION = "turkish-treebanks"
#: The treebank's two sections, web pages (forums, blogs, how-tos, reviews) and Wikipedia.
SECTIONS = ("web", "wiki")
#: The authors' splits.
SPLITS = ("train", "dev", "test")

#: Google's universal part-of-speech tags (Petrov, Das and McDonald, 2012, "A Universal Part-of-Speech Tagset"),
#: with punctuation written `PUNCT` where the paper writes `.`.
GOOGLE_UNIVERSAL_TAGS = ("ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "PUNCT", "VERB", "X")
#: The 14 coarse tags of the treebank, in the fourth CoNLL-U field. They are `GOOGLE_UNIVERSAL_TAGS` and two
#: more, `AFFIX` and `ONOM` (onomatopoeia), both rare.
TAGS = tuple(sorted(GOOGLE_UNIVERSAL_TAGS + ("AFFIX", "ONOM")))
#: The 17 UPOS tags of Universal Dependencies, which the treebank does *not* use, although its files are CoNLL-U.
#: `CONJ`, `PRT`, `AFFIX` and `ONOM` are not among them, and `AUX`, `CCONJ`, `INTJ`, `PART`, `PROPN`, `SCONJ` and
#: `SYM` do not occur in the treebank.
UD_UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
                "SCONJ", "SYM", "VERB", "X")

#: One sentence, with its id, its text, and for each token its form and its coarse part-of-speech tag (`TAGS`).
Sentence = collections.namedtuple("Sentence", ["sent_id", "text", "forms", "tags"])


def treebank_path(section):
    """The path of one section's CoNLL-U file inside the installed `turkish-treebanks` wheel.

    Args:
        section: `"web"` or `"wiki"`.

    Returns:
        A `pathlib.Path` to `data/<section>.conllu`.

    Raises:
        ValueError: if `section` is not one of `SECTIONS`.
        ModuleNotFoundError: if `turkish-treebanks` is not installed, with the command that installs it.
        FileNotFoundError: if the package is installed but the file is not there.
    """
    if section not in SECTIONS:
        raise ValueError(f"`section` must be one of {SECTIONS}. Received: section={section!r}")
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            f"The Turkish treebank comes from the `{DISTRIBUTION}` package, which is not installed. "
            f"Install it with `pip install {DISTRIBUTION}==1.0.0` "
            f"(or, in a checkout of the book, `pip install -e \"./book[chapters]\"`)."
        ) from None
    path = pathlib.Path(distribution.locate_file(f"data/{section}.conllu"))
    if not path.is_file():
        raise FileNotFoundError(
            f"`{DISTRIBUTION}` is installed but has no data/{section}.conllu (looked for it at {path}). "
            f"Reinstall it with `pip install --force-reinstall {DISTRIBUTION}==1.0.0`."
        )
    return path


def parse_conllu(text):
    """Parses CoNLL-U text into a list of `Sentence` objects, keeping each token's form and its tag (4th field).

    The `conllu` package parses the text; this keeps what the chapter needs. Multiword-token lines (ids such as
    `3-4`) and empty nodes (ids such as `5.1`) are skipped, as UD's part-of-speech evaluations do; the treebank
    has neither.

    Args:
        text: String, the content of a CoNLL-U file.

    Returns:
        A list of `Sentence(sent_id, text, forms, tags)`, where `forms` and `tags` are tuples of strings.

    Raises:
        ValueError: if a token line does not have ten fields, or `conllu` cannot parse a field.

    Example:

    >>> text = "# sent_id = s1\\n# text = Ali geldi .\\n"
    >>> text += "1\\tAli\\tali\\tNOUN\\tNNP\\t_\\t2\\tnsubj\\t_\\t_\\n"
    >>> text += "2\\tgeldi\\tgel\\tVERB\\tVB\\t_\\t0\\troot\\t_\\t_\\n"
    >>> text += "3\\t.\\t.\\tPUNCT\\t.\\t_\\t2\\tp\\t_\\t_\\n\\n"
    >>> parse_conllu(text)
    [Sentence(sent_id='s1', text='Ali geldi .', forms=('Ali', 'geldi', '.'), tags=('NOUN', 'VERB', 'PUNCT'))]
    """
    import conllu  # bidirbook's `chapters` extra: the website's build imports this module without it

    def ten_fields_then_id(fields, index):
        # conllu reads a line with fewer fields as far as it goes, and drops extra ones; CoNLL-U has ten.
        if len(fields) != 10:
            line = "\t".join(fields)
            raise ValueError(f"A CoNLL-U token line has 10 tab-separated fields; this one has {len(fields)}: {line!r}")
        return conllu.parser.parse_id_value(fields[index])

    try:
        token_lists = conllu.parse(text, field_parsers={"id": ten_fields_then_id})
    except conllu.exceptions.ParseException as error:
        raise ValueError(f"Not CoNLL-U: {error}") from None
    sentences = []
    for tokens in token_lists:
        words = [token for token in tokens if isinstance(token["id"], int)]
        sentences.append(Sentence(tokens.metadata.get("sent_id", ""), tokens.metadata.get("text", ""),
                                  tuple(token["form"] for token in words), tuple(token["upos"] for token in words)))
    return sentences


def split_of(index):
    """The authors' split of the sentence at position `index` (from 0) of a file: `"train"`, `"dev"` or `"test"`.

    >>> [split_of(i) for i in range(10)].count("train"), split_of(8), split_of(19)
    (8, 'dev', 'test')
    """
    rest = index % 10
    return "dev" if rest == 8 else "test" if rest == 9 else "train"


def load_sentences(sections=SECTIONS, split=None):
    """Reads the treebank's sentences from the installed wheel.

    Args:
        sections: A section name or a sequence of them, from `SECTIONS`. Defaults to both, web first.
        split: `None` for every sentence, or one of `SPLITS`, the authors' split, taken in each file.

    Returns:
        A list of `Sentence` objects in file order, the sections one after the other.

    Example:

    >>> web = load_sentences("web")  # doctest: +SKIP
    >>> len(web), sum(len(s.forms) for s in web)  # doctest: +SKIP
    (2541, 32422)
    """
    if isinstance(sections, str):
        sections = (sections,)
    if split is not None and split not in SPLITS:
        raise ValueError(f"`split` must be None or one of {SPLITS}. Received: split={split!r}")
    sentences = []
    for section in sections:
        sentences.extend(s for i, s in enumerate(_section(section)) if split is None or split_of(i) == split)
    return sentences


@functools.cache
def _section(section):
    """Every sentence of one section's file, parsed once a process (a chapter reads each split of it)."""
    return tuple(parse_conllu(treebank_path(section).read_text(encoding="utf-8")))


def lowercase(form):
    """Lowercases a Turkish word form: dotted `İ` becomes `i` and dotless `I` becomes `ı`, then `str.lower()`.

    Python's `str.lower()` alone turns `İ` into `i` plus a combining dot, and `I` into `i`, which in Turkish is
    another letter.

    >>> lowercase("İnternette"), lowercase("IŞIK")
    ('internette', 'ışık')
    """
    return form.replace("İ", "i").replace("I", "ı").lower()
