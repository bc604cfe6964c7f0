"""Coverage, precision, top-1, top-5 and the threshold sweep, on hand-made outcomes."""

from __future__ import annotations

import pytest

from bench.devset.extract import GoldParam
from bench.devset.metrics import dump_rows, figures, lowest_threshold, score, sweep
from bench.devset.predictor import Prediction
from bench.devset.resolve import Resolver

REQUEST = "starlette.requests.Request"
SESSION = "sqlalchemy.orm.session.Session"


def gold(line: int, name: str, key: str) -> GoldParam:
    return GoldParam("m.py", "f", name, name, line, key, "X", True)


def pred(line: int, name: str, conf: float, *answers: str) -> Prediction:
    return Prediction("f", name, line, tuple((a, conf) for a in answers), conf)


GOLD = [gold(1, "a", REQUEST), gold(2, "b", SESSION), gold(3, "c", SESSION), gold(4, "d", REQUEST)]
PREDICTIONS = [
    pred(1, "a", 0.99, "fastapi.Request"),  # right, through a re-export
    pred(2, "b", 0.8, "httpx.Client", "sqlalchemy.orm.Session"),  # right only in the top five
    pred(3, "c", 0.6, "sqlalchemy.orm.Session"),  # right, low confidence
    pred(9, "d", 0.99, "fastapi.Request"),  # wrong line: matches nothing
    pred(4, "other", 0.99, "fastapi.Request"),  # wrong name: matches nothing
]


def outcomes() -> list:
    return score("proj", GOLD, PREDICTIONS, Resolver().canonical)


def test_predictions_match_by_line_and_name_and_compare_as_classes() -> None:
    got = outcomes()
    assert [o.predicted for o in got] == [True, True, True, False]
    assert [o.top1 for o in got] == [True, False, True, False]
    assert [o.top5 for o in got] == [True, True, True, False]


def test_figures_at_a_threshold() -> None:
    f = figures(outcomes(), 0.7)
    assert (f.n, f.covered, f.correct_covered) == (4, 2, 1)
    assert f.coverage == 0.5 and f.precision == 0.5
    assert f.top1 == 0.5 and f.top5 == 0.75  # neither depends on the threshold
    assert figures(outcomes(), 0.999).precision is None


def test_sweep_and_the_lowest_threshold_reaching_a_precision() -> None:
    curve = sweep(outcomes())
    assert curve == [(0.6, pytest.approx(2 / 3), 0.75), (0.8, 0.5, 0.5), (0.99, 1.0, 0.25)]
    op = lowest_threshold(outcomes(), 0.97)
    assert op is not None and (op.threshold, op.coverage, op.precision) == (0.99, 0.25, 1.0)
    assert lowest_threshold(score("p", GOLD, [], Resolver().canonical), 0.5) is None


def test_dump_rows_name_each_gold_parameter_with_its_candidates() -> None:
    from bench.devset.extract import StrippedFile

    rows = dump_rows(StrippedFile("m.py", "", tuple(GOLD)), outcomes(), PREDICTIONS)
    assert [r["parameter"] for r in rows] == ["a", "b", "c", "d"]
    assert rows[1]["candidates"] == [["httpx.Client", 0.8], ["sqlalchemy.orm.Session", 0.8]]
    assert rows[1]["top1"] is False and rows[1]["top5"] is True
    assert rows[3]["candidates"] == [] and rows[3]["confidence"] == 0.0
