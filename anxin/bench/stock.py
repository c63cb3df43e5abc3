"""The stock ``rasa init`` bot: trained once, cached, and its environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Optional

from anxin.bench.servers import BenchError


def stock_env() -> dict[str, str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stock_project(cache: Path, log: Path, fresh: bool) -> tuple[Path, Optional[float]]:
    """The stock project's trained model: from the cache, or ``rasa init`` (then cached).

    Returns (model, seconds spent training or None when cached). The cache is
    rebuilt when the Rasa version changes.
    """
    rasa_version = version("rasa")
    marker = cache / "rasa-version"
    models = sorted(cache.glob("models/*.tar.gz"))
    if not fresh and models and marker.exists() and marker.read_text().strip() == rasa_version:
        return models[-1], None
    build = cache.with_name(f"{cache.name}.building-{os.getpid()}")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    print(f"anxin: rasa init --no-prompt (training the stock bot, ~1.5 min), log {log}", flush=True)
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        rc = subprocess.call(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(build)],
            cwd=build,
            env=stock_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    seconds = time.perf_counter() - t0
    if rc != 0 or not list(build.glob("models/*.tar.gz")):
        raise BenchError(f"rasa init failed (rc={rc}); see {log}")
    (build / "rasa-version").write_text(rasa_version + "\n")
    shutil.rmtree(cache, ignore_errors=True)
    build.rename(cache)
    return sorted(cache.glob("models/*.tar.gz"))[-1], seconds
