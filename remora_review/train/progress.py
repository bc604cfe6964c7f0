"""Progress reporting for remora-train: one bar per stage (rich, on stderr), or a plain record."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO


class Stage(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def total(self, n: int) -> None: ...


class Progress(Protocol):
    """What the build reports: stages run (with counts), stages skipped, and notes."""

    def stage(self, name: str, total: int | None = None) -> Any: ...  # a context manager of Stage

    def skipped(self, name: str, reason: str) -> None: ...

    def note(self, message: str) -> None: ...


@dataclass
class _CountingStage:
    done: int = 0
    expected: int | None = None

    def advance(self, n: int = 1) -> None:
        self.done += n

    def total(self, n: int) -> None:
        self.expected = n


@dataclass
class RecordingProgress:
    """Keeps what happened, for callers (and tests) that check which stages ran."""

    events: list[tuple[str, str, int]] = field(default_factory=list)  # (ran|skipped, stage, count)
    notes: list[str] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[_CountingStage]:
        counter = _CountingStage(expected=total)
        yield counter
        self.events.append(("ran", name, counter.done))

    def skipped(self, name: str, reason: str) -> None:
        self.events.append(("skipped", name, 0))

    def note(self, message: str) -> None:
        self.notes.append(message)

    def ran(self) -> list[str]:
        return [name for what, name, _ in self.events if what == "ran"]

    def skipped_stages(self) -> list[str]:
        return [name for what, name, _ in self.events if what == "skipped"]


class _RichStage:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def total(self, n: int) -> None:
        self._progress.update(self._task, total=n)


class RichProgress:
    """A rich progress display on stderr: a bar with counts and elapsed time for every stage."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._console = Console(file=stream or sys.stderr)
        self._progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
        )

        self._started = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[_RichStage]:
        if not self._started:  # started by the first stage: an early error prints only itself
            self._progress.start()
            self._started = True
        task = self._progress.add_task(name, total=total)
        try:
            yield _RichStage(self._progress, task)
        finally:
            self._progress.stop_task(task)
        current = self._progress.tasks[task]
        done = current.total if current.total is not None else max(current.completed, 1)
        self._progress.update(task, total=done, completed=done)

    def skipped(self, name: str, reason: str) -> None:
        self._console.print(f"[dim]{name:<14} skipped: {reason}[/dim]")

    def note(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)
