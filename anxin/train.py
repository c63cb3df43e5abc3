"""Train the Rasa model only when what it is trained from has changed.

The model's file name carries a fingerprint of the training data, the domain,
the pipeline and our custom NLU code, so "is it up to date?" is a file lookup
instead of a 30-second Rasa start-up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

# Everything a trained model depends on: data, domain, pipeline and our NLU components' code.
INPUTS = (
    "bot/config.yml",
    "bot/domain",
    "nlu_data",
    "anxin/nlu_*.py",
    "anxin/policy_*.py",
    "care/language.py",
    "care/numbers.py",
    "care/when*.py",
)


def _files(root: Path, pattern: str) -> list[Path]:
    path = root / pattern
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file()]
    return list(root.glob(pattern))


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for pattern in INPUTS:
        for file in sorted(_files(root, pattern)):
            if file.suffix in (".yml", ".yaml", ".py"):
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path(root: Path, models_dir: Path) -> Path:
    return models_dir / f"anxin-{fingerprint(root)}.tar.gz"


def train(root: Path, models_dir: Path, env: dict[str, str], force: bool = False) -> Path:
    target = model_path(root, models_dir)
    if target.exists() and not force:
        log.info("model is up to date: %s", target.name)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"anxin: training the Rasa model ({target.name}), this takes a minute or two ...",
        flush=True,
    )
    cmd = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        str(root / "bot/config.yml"),
        "--domain",
        str(root / "bot/domain"),
        "--data",
        str(root / "nlu_data"),
        "--out",
        str(models_dir),
        "--fixed-model-name",
        target.name[: -len(".tar.gz")],
    ]
    result = subprocess.run(cmd, cwd=root, env={**os.environ, **env})
    if result.returncode != 0 or not target.exists():
        raise SystemExit(f"anxin: rasa train failed (exit {result.returncode})")
    for old in models_dir.glob("anxin-*.tar.gz"):
        if old != target:
            old.unlink()
    return target
