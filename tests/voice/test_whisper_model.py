"""The default model is assembled from its two PyPI wheels once, atomically."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from voice.whisper_model import PART_PACKAGES, _package_data, assemble_default_model, resolve_model


def _expected_size() -> int:
    return sum(
        p.stat().st_size for pkg in PART_PACKAGES for p in _package_data(pkg).glob("model.bin.*")
    )


def test_assembles_once_and_reuses(tmp_path: Path) -> None:
    dest = tmp_path / "base"
    assert assemble_default_model(dest) == dest
    model = dest / "model.bin"
    assert model.stat().st_size == _expected_size() > 100_000_000
    assert {p.name for p in dest.iterdir()} == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.txt",
    }  # fmt: skip
    stamp = model.stat().st_mtime_ns
    assemble_default_model(dest)
    assert model.stat().st_mtime_ns == stamp  # not rewritten
    # No temporary directories are left beside it.
    assert [p.name for p in tmp_path.iterdir()] == ["base"]


def test_a_truncated_model_is_rebuilt(tmp_path: Path) -> None:
    dest = tmp_path / "base"
    dest.mkdir()
    (dest / "model.bin").write_bytes(b"half a model")
    assemble_default_model(dest)
    assert (dest / "model.bin").stat().st_size == _expected_size()


def test_two_processes_at_once_both_get_a_whole_model(tmp_path: Path) -> None:
    dest = tmp_path / "base"
    errors = []

    def build() -> None:
        try:
            assemble_default_model(dest)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert (dest / "model.bin").stat().st_size == _expected_size()


def test_model_setting(tmp_path: Path) -> None:
    env = {"ANXIN_MODELS_DIR": str(tmp_path), "ANXIN_VAR_DIR": str(tmp_path / "var")}
    # Beside the Rasa models, not in the per-stack var/: one copy for every test stack.
    assert resolve_model(env=env) == str(tmp_path / "whisper" / "base")
    assert resolve_model(env={**env, "ANXIN_WHISPER_MODEL": str(tmp_path)}) == str(tmp_path)
    with pytest.raises(ValueError, match="neither a directory nor a model size"):
        resolve_model("enormous", env=env)
