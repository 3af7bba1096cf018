"""Tests of bidirbook.treebank on the real files of the turkish-treebanks wheel, and of its CoNLL-U parser."""

import collections
import importlib.metadata

import pytest

from bidirbook import treebank



@pytest.fixture(scope="module")
def sections():
    return {section: treebank.load_sentences(section) for section in treebank.SECTIONS}


def test_files_come_from_the_wheel():
    for section in treebank.SECTIONS:
        path = treebank.treebank_path(section)
        assert path.is_file() and path.name == f"{section}.conllu"
        assert path.parent.name == "data"


@pytest.mark.parametrize("section, sentences, tokens", [("web", 2541, 32422), ("wiki", 2310, 48948)])
def test_counts_as_in_the_source(sections, section, sentences, tokens):
    # Sentence counts as in the treebank's README; token counts as in the files (the README gives 32,422 for web).
    assert len(sections[section]) == sentences
    assert sum(len(s.forms) for s in sections[section]) == tokens


def test_tags_are_google_universal_tags_and_two_more_not_ud_upos(sections):
    tags = collections.Counter(tag for sentences in sections.values() for s in sentences for tag in s.tags)
    assert set(tags) == set(treebank.TAGS)
    assert len(treebank.TAGS) == 14 and list(treebank.TAGS) == sorted(treebank.TAGS)
    # Petrov, Das and McDonald's twelve, punctuation written PUNCT, and AFFIX and ONOM.
    assert set(treebank.GOOGLE_UNIVERSAL_TAGS) == {
        "NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", "X", "PUNCT"
    }
    assert set(tags) - set(treebank.GOOGLE_UNIVERSAL_TAGS) == {"AFFIX", "ONOM"}
    assert tags["AFFIX"] == 3 and tags["ONOM"] == 13
    # Not Universal Dependencies' UPOS set.
    assert len(treebank.UD_UPOS_TAGS) == 17
    assert set(tags) - set(treebank.UD_UPOS_TAGS) == {"AFFIX", "CONJ", "ONOM", "PRT"}
    assert set(treebank.UD_UPOS_TAGS) - set(tags) == {"AUX", "CCONJ", "INTJ", "PART", "PROPN", "SCONJ", "SYM"}
    assert tags.most_common(1)[0][0] == "NOUN"


def test_sentences_are_well_formed(sections):
    for sentences in sections.values():
        for s in sentences:
            assert s.sent_id and s.text
            assert len(s.forms) == len(s.tags) >= 1
            assert all(form for form in s.forms)


def test_lengths(sections):
    longest = {section: max(len(s.forms) for s in sentences) for section, sentences in sections.items()}
    assert longest == {"web": 34, "wiki": 88}


def test_first_sentences_read_as_in_the_file(sections):
    first = sections["web"][0]
    assert first.sent_id == "tr-forum:00000222:S023"
    assert first.forms == ("Burda", "da", "öylemi", "yoksa", "kiloyla", "mı", "?")
    assert first.tags == ("PRON", "PRT", "VERB", "CONJ", "VERB", "PRT", "PUNCT")
    # Chapter 12's example: the predicate "kiloyla" is followed by the question particle and the question mark.
    at = first.forms.index("kiloyla")
    assert first.forms[at + 1:] == ("mı", "?") and first.tags[at + 1:] == ("PRT", "PUNCT")
    assert treebank.split_of(0) == "train"
    # Inflectional groups: one written word, several tokens with tags of their own.
    second = sections["web"][1]
    assert second.forms[:4] == ("Açık", "la", "nma", "yan")
    assert second.tags[:4] == ("NOUN", "VERB", "VERB", "ADJ")


def test_splits_partition_each_section(sections):
    for section, everything in sections.items():
        parts = {split: treebank.load_sentences(section, split=split) for split in treebank.SPLITS}
        assert sum(len(p) for p in parts.values()) == len(everything)
        assert parts["dev"][0] == everything[8] and parts["test"][0] == everything[9]
        assert parts["train"][:8] == everything[:8]
    assert len(treebank.load_sentences("web", split="test")) == 254


def test_both_sections_by_default(sections):
    assert len(treebank.load_sentences(split="test")) == 254 + 231


def test_split_of():
    assert [treebank.split_of(i) for i in range(20)].count("train") == 16
    assert treebank.split_of(18) == "dev" and treebank.split_of(29) == "test"


def test_parser_skips_multiword_and_empty_nodes_and_checks_fields():
    line = "\t".join
    text = "\n".join([
        "# sent_id = a",
        "# text = x",
        line(["1-2", "xy", "_", "_", "_", "_", "_", "_", "_", "_"]),
        line(["1", "x", "x", "NOUN", "NN", "_", "0", "root", "_", "_"]),
        line(["2", "y", "y", "VERB", "VB", "_", "1", "ig", "_", "_"]),
        line(["2.1", "z", "z", "X", "X", "_", "_", "_", "_", "_"]),
        "",
        "",
    ])
    [sentence] = treebank.parse_conllu(text)
    assert sentence.forms == ("x", "y") and sentence.tags == ("NOUN", "VERB")
    with pytest.raises(ValueError, match="10 tab-separated fields"):
        treebank.parse_conllu("1\tx\tx\tNOUN\n")
    with pytest.raises(ValueError, match="10 tab-separated fields; this one has 11"):
        treebank.parse_conllu(line(["1", "x", "x", "NOUN", "NN", "_", "0", "root", "_", "_", "extra"]) + "\n")


def test_bad_arguments():
    with pytest.raises(ValueError, match="section"):
        treebank.treebank_path("news")
    with pytest.raises(ValueError, match="split"):
        treebank.load_sentences("web", split="validation")


def test_missing_package_names_the_pip_package(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(treebank.importlib.metadata, "distribution", not_installed)
    with pytest.raises(ModuleNotFoundError, match=r"pip install turkish-treebanks==1\.0\.0"):
        treebank.treebank_path("web")


def test_lowercase_keeps_turkish_i_apart():
    assert treebank.lowercase("İSTANBUL") == "istanbul"
    assert treebank.lowercase("IĞDIR") == "ığdır"
    assert treebank.lowercase("kitap") == "kitap"


def test_dev_and_test_of_the_web_section_and_the_longest_sentence():
    # Chapter 12 pads to the web section's longest sentence, dev and test included.
    parts = {split: treebank.load_sentences("web", split=split) for split in treebank.SPLITS}
    assert {split: len(p) for split, p in parts.items()} == {"train": 2033, "dev": 254, "test": 254}
    assert max(len(s.forms) for p in parts.values() for s in p) == 34
