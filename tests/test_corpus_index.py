"""Every example flow in the corpus is run by a test in tests/test_corpus_*.py."""

import pathlib

import pytest

from corpus import CORPUS

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")


def test_every_corpus_example_is_run_by_a_corpus_test():
    tests = "".join(path.read_text() for path in pathlib.Path(__file__).parent.glob(
        "test_corpus_*.py") if path.name != pathlib.Path(__file__).name)
    examples = sorted(folder.name for folder in CORPUS.iterdir() if folder.is_dir())
    assert examples, f"no examples in {CORPUS}"
    untested = [name for name in examples if f'"{name}"' not in tests]
    assert untested == []
