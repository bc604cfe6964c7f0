"""The command line's sub-command lookup: only the chosen sub-command's module is registered."""

from __future__ import annotations

import pytest

from remora_review.cli import _command, build_parser, main


@pytest.mark.parametrize(("argv", "expected"), [
    (["check"], "check"),
    (["--config", "x.toml", "-v", "check", "--all"], "check"),
    (["--verbose", "server", "status"], "server"),
    (["--help"], None),
    (["--version"], None),
    (["chek"], None),
    (["--config", "check"], None),  # "check" is the config file's name here
    ([], None),
])
def test_the_sub_command_is_found_after_the_global_options(argv: list[str],
                                                          expected: str | None) -> None:
    assert _command(argv) == expected


def test_one_sub_command_or_all() -> None:
    only = build_parser("check")
    whole = build_parser()
    assert only.parse_args(["check", "--all"]).all is True
    assert whole.parse_args(["server", "status"]).server_command == "status"
    with pytest.raises(SystemExit):
        only.parse_args(["server", "status"])


def test_a_misspelt_sub_command_lists_every_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["chek"])
    err = capsys.readouterr().err
    assert "invalid choice: 'chek'" in err and "'install-hooks'" in err
