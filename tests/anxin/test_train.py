"""The model is retrained exactly when something it is trained from changes."""

from __future__ import annotations

import shutil
from pathlib import Path

from anxin.train import INPUTS, fingerprint

ROOT = Path(__file__).resolve().parents[2]


def copy_inputs(tmp_path: Path) -> Path:
    for pattern in INPUTS:
        for src in ROOT.glob(pattern):
            dst = tmp_path / src.relative_to(ROOT)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                shutil.copy(src, dst)
    return tmp_path


def test_fingerprint_follows_data_and_code(tmp_path):
    root = copy_inputs(tmp_path)
    first = fingerprint(root)
    assert fingerprint(root) == first
    (root / "README.md").write_text("not a training input")
    assert fingerprint(root) == first
    for changed in ("nlu_data/nlu/zh/basics.yml", "bot/domain/core.yml", "care/when.py"):
        path = root / changed
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        assert fingerprint(root) != first, changed
        path.write_bytes(original)
    assert fingerprint(root) == first
