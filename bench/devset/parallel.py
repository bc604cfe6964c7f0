"""Predictions over many files in worker processes, forked so that predictors need no pickling."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from bench.devset.predictor import Prediction, Predictor

# A worker's predictors, set once by its initializer: predictors are closures over loaded packs and
# models, which cannot be pickled, so each forked worker inherits them instead.
_WORKER_PREDICTORS: list[Predictor] = []

Task = tuple[int, str, str, str]  # (predictor index, source, path, project name)


def _init(predictors: Sequence[Predictor]) -> None:
    _WORKER_PREDICTORS[:] = predictors


def run_task(task: Task) -> list[Prediction] | None:
    """One file's predictions; None when the predictor failed on it (it must not end the run)."""
    index, source, path, project = task
    try:
        return _WORKER_PREDICTORS[index](source, path, project)
    except Exception:  # a predictor's bug on one file is counted, not raised
        return None


class InlinePool:
    """The same interface without processes (one worker, or no fork on this platform)."""

    def __init__(self, predictors: Sequence[Predictor]) -> None:
        _init(predictors)

    def map(self, tasks: Sequence[Task]) -> list[list[Prediction] | None]:
        return [run_task(t) for t in tasks]


class ForkPool:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def map(self, tasks: Sequence[Task]) -> list[list[Prediction] | None]:
        return list(self.executor.map(run_task, tasks, chunksize=2))


@contextmanager
def prediction_pool(
    predictors: Sequence[Predictor], workers: int
) -> Iterator[InlinePool | ForkPool]:
    """Workers live for the whole run, so each loads an embedding model at most once."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield InlinePool(predictors)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init, initargs=(list(predictors),)
    ) as executor:
        yield ForkPool(executor)
