"""A bench's throwaway directory: removed after a good run, kept (and named) after a broken one."""

from __future__ import annotations

from pathlib import Path

from anxin.bench.servers import BenchError, in_scratch


def test_a_good_run_returns_its_result_and_leaves_nothing(capsys):
    seen: list[Path] = []

    def run(tmp: Path) -> int:
        seen.append(tmp)
        (tmp / "bench.db").write_text("x")
        return 42

    assert in_scratch("channels", "channels", False, run) == 42
    assert seen[0].name.startswith("anxin-bench-channels-") and not seen[0].exists()
    assert capsys.readouterr().out == ""


def test_a_broken_run_is_reported_and_its_logs_kept(capsys):
    seen: list[Path] = []

    def run(tmp: Path) -> int:
        seen.append(tmp)
        raise BenchError("port 5035 is in use")

    assert in_scratch("voice --stack", "voice", False, run) is None
    printed = capsys.readouterr()
    assert "anxin: bench voice --stack: port 5035 is in use" in printed.err
    assert str(seen[0]) in printed.out and seen[0].is_dir()


def test_asked_to_keep_keeps(capsys):
    seen: list[Path] = []
    assert in_scratch("dialogue", "dialogue", True, lambda tmp: seen.append(tmp) or 1) == 1
    assert seen[0].is_dir() and str(seen[0]) in capsys.readouterr().out
