"""Rasa's HTTP API is never exposed beyond this machine without a token, nor put on argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.config import RunSettings
from anxin.stack import processes, write_credentials


def test_a_public_bind_needs_a_token_which_never_goes_on_the_command_line():
    model, creds = Path("models/x.tar.gz"), Path("var/credentials.yml")
    local = RunSettings.from_env({})
    assert "anxin.rasa_server" in processes(local, model, creds)["rasa"]
    with pytest.raises(SystemExit, match="ANXIN_RASA_TOKEN"):
        processes(RunSettings.from_env({"ANXIN_BIND": "0.0.0.0"}), model, creds)
    public = RunSettings.from_env({"ANXIN_BIND": "0.0.0.0", "ANXIN_RASA_TOKEN": "s3cret"})
    argv = processes(public, model, creds)["rasa"]
    assert "s3cret" not in " ".join(argv) and "0.0.0.0" in argv


def test_channels_are_registered_only_when_their_secrets_are_set(tmp_path):
    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    plain = write_credentials(run, {}).read_text(encoding="utf-8")
    assert "rest:" in plain and "channels." not in plain.split("are registered")[-1]
    env = {
        "ANXIN_WECHAT_TOKEN": "tok", "ANXIN_WECHAT_APPID": "wx1", "ANXIN_WECHAT_SECRET": "shh",
        "ANXIN_TELEGRAM_TOKEN": "123:abc",
    }  # fmt: skip
    both = write_credentials(run, env).read_text(encoding="utf-8")
    assert "channels.wechat.WeChatInput: {}" in both
    assert "channels.telegram.TelegramInput: {}" in both
    assert "shh" not in both and "123:abc" not in both  # secrets stay in the environment
    with pytest.raises(SystemExit, match="ANXIN_WECHAT_SECRET"):
        write_credentials(run, {"ANXIN_WECHAT_TOKEN": "tok", "ANXIN_WECHAT_APPID": "wx1"})
