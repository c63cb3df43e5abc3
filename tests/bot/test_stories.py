"""The trained model passes the test stories and the training data validates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anxin.config import RunSettings
from anxin.stack import child_env
from anxin.train import train
from care.config import CareSettings
from tests.support.clock import pinned_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    run = RunSettings.from_env()
    # The NLU reads "明天" and "friday" on the suite's pinned clock, not the day it runs.
    return {**os.environ, **child_env(run, CareSettings.from_env()), **pinned_env()}


@pytest.fixture(scope="module")
def model(env: dict[str, str]) -> Path:
    run = RunSettings.from_env()
    return train(run.root, run.models_dir, env)  # a no-op when `make test` trained it


def rasa(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_training_data_validates(env):
    rasa(env, "data", "validate", "--domain", "bot/domain", "--data", "nlu_data",
         "--config", "bot/config.yml")  # fmt: skip


def test_stories_pass(env, model, tmp_path):
    rasa(env, "test", "core", "--stories", "tests/stories", "--model", str(model),
         "--out", str(tmp_path), "--fail-on-prediction-errors")  # fmt: skip
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    assert "- story" not in failed, failed
