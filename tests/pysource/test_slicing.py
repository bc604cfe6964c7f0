import ast

from remora_review.pysource.slicing import slice_source

SOURCE = '''import logging

log = logging.getLogger(__name__)


@decorator
def untouched(a):
    return a


class Repo:
    """Keeps its header."""

    def kept(self, s):
        s.add(1)

    def dropped(self, s):
        s.commit()


class Other:
    def only(self):
        pass


def changed(s):
    s.flush()
'''


def test_untouched_defs_are_blanked_and_lines_keep_their_numbers():
    sliced = slice_source(SOURCE, frozenset({15, 27}))
    assert len(sliced.splitlines()) == len(SOURCE.splitlines())
    ast.parse(sliced)
    for line in ("def untouched(a):", "def dropped(self, s):", "class Other:", "@decorator"):
        assert line not in sliced
    for line in ("log = logging.getLogger(__name__)", "class Repo:", "    def kept(self, s):",
                 "def changed(s):"):
        assert line in sliced
    old, new = SOURCE.splitlines(), sliced.splitlines()
    assert all(o == n for o, n in zip(old, new) if n)  # every kept line is unchanged


def test_a_class_whose_methods_all_go_keeps_a_pass():
    source = "class A:\n    def f(self):\n        pass\n\n\ndef g():\n    pass\n"
    sliced = slice_source(source, frozenset({1}))
    ast.parse(sliced)
    assert sliced.splitlines()[1] == "    pass"


def test_whole_file_and_bad_syntax_are_left_alone():
    assert slice_source(SOURCE, None) == SOURCE
    assert slice_source("def f(:\n", frozenset({1})) == "def f(:\n"
