"""The project's rival classes, indexed by member: the same rivals as testing each class."""

from __future__ import annotations

import itertools

from remora_review.infer.scoring import rivals_of

WORDS = ("add", "commit", "get", "post", "close", "execute", "scalars", "flush")


def test_having_finds_exactly_the_classes_with_every_member_in_their_order():
    members = {f"app.m{i}.C{i}": frozenset(w for j, w in enumerate(WORDS) if (i >> j) & 1)
               for i in range(1, 200, 3)}
    rivals = rivals_of(members)
    for size in (1, 2, 3):
        for used in itertools.combinations(WORDS, size):
            want = [n for n, held in members.items() if set(used) <= held]
            assert rivals.having(frozenset(used)) == want
    assert rivals.having(frozenset({"unknown"})) == []
    assert len(rivals) == len(members) and not rivals_of({})
