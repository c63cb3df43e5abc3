"""Rasa's HTTP API is never exposed beyond this machine without a token, nor put on argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.config import RunSettings
from anxin.stack import processes


def test_a_public_bind_needs_a_token_which_never_goes_on_the_command_line():
    model = Path("models/x.tar.gz")
    local = RunSettings.from_env({})
    assert "anxin.rasa_server" in processes(local, model)["rasa"]
    with pytest.raises(SystemExit, match="ANXIN_RASA_TOKEN"):
        processes(RunSettings.from_env({"ANXIN_BIND": "0.0.0.0"}), model)
    public = RunSettings.from_env({"ANXIN_BIND": "0.0.0.0", "ANXIN_RASA_TOKEN": "s3cret"})
    argv = processes(public, model)["rasa"]
    assert "s3cret" not in " ".join(argv) and "0.0.0.0" in argv
