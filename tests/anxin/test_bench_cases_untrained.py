"""The safety bench's own set is never trained on: none of its messages (nor their
follow-ups) is a training example, or its figures would measure memory, not reading."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from anxin.bench.safety_cases import DEFAULT_CASES

ROOT = Path(__file__).resolve().parents[2]


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _training_texts() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "nlu_data").rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                line = re.sub(r"^\s*-\s*", "", line)
                # Entity annotations [text](entity) read as their text.
                line = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", line)
                if line.strip():
                    found.add(_norm(line))
    return found


def test_no_bench_message_is_a_training_example():
    cases = yaml.safe_load(DEFAULT_CASES.read_text(encoding="utf-8"))
    said = {_norm(c["text"]) for c in cases}
    said |= {_norm(f["text"]) for c in cases for f in c.get("followups") or []}
    trained = _training_texts()
    assert len(trained) > 1000  # the training data was read
    both = (said - {""}) & trained
    # Two authors writing apart meet on the commonest sayings ("救命", "i want to die",
    # "明天"); a message of any length, or many short ones, in both is a copy.
    assert not {text for text in both if len(text) >= 40}, both
    assert len(both) <= 0.05 * len(said), both
