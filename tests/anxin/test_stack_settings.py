"""Rasa's HTTP API, the REST and voice routes and the action server are never exposed
without a token, and tokens never go on argv or on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.config import RunSettings
from anxin.stack import child_env, processes, write_credentials, write_endpoints
from care.config import CareSettings


def _yaml(path: Path) -> dict:
    # PyYAML, not ruamel: importing Rasa teaches ruamel to expand ${VAR} on load, and
    # these files must keep the ${...} that Rasa substitutes when it reads them.
    import yaml

    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_a_public_bind_needs_a_token_which_never_goes_on_the_command_line():
    model, creds = Path("models/x.tar.gz"), Path("var/credentials.yml")
    ends = Path("var/endpoints.yml")
    local = RunSettings.from_env({})
    assert "anxin.rasa_server" in processes(local, model, creds, ends)["rasa"]
    with pytest.raises(SystemExit, match="ANXIN_RASA_TOKEN"):
        processes(RunSettings.from_env({"ANXIN_BIND": "0.0.0.0"}), model, creds, ends)
    with pytest.raises(SystemExit, match="ANXIN_REST_TOKEN"):
        no_rest = {"ANXIN_BIND": "0.0.0.0", "ANXIN_RASA_TOKEN": "s3cret"}
        processes(RunSettings.from_env(no_rest), model, creds, ends)
    public = RunSettings.from_env(PUBLIC)
    processes_ = processes(public, model, creds, ends)
    argv = " ".join(a for args in processes_.values() for a in args)
    assert "s3cret" not in argv and "r3st" not in argv and "0.0.0.0" in processes_["rasa"]
    assert public.action_token not in argv


PUBLIC = {"ANXIN_BIND": "0.0.0.0", "ANXIN_RASA_TOKEN": "s3cret", "ANXIN_REST_TOKEN": "r3st"}


def test_every_run_has_tokens_for_rasas_api_and_the_action_server_in_the_environment_only():
    care = CareSettings(db_url="sqlite://")
    run = RunSettings.from_env({})
    env = child_env(run, care)
    # None set: made for this run, long and random, the same for every child of the run.
    assert len(env["ANXIN_RASA_TOKEN"]) >= 40 and len(env["ANXIN_ACTION_TOKEN"]) >= 40
    assert env["ANXIN_RASA_TOKEN"] != env["ANXIN_ACTION_TOKEN"]
    assert child_env(run, care) == env
    another = child_env(RunSettings.from_env({}), care)
    assert another["ANXIN_RASA_TOKEN"] != env["ANXIN_RASA_TOKEN"]
    # The operator's own, when set.
    given = child_env(RunSettings.from_env({**PUBLIC, "ANXIN_ACTION_TOKEN": "act"}), care)
    assert (given["ANXIN_RASA_TOKEN"], given["ANXIN_ACTION_TOKEN"]) == ("s3cret", "act")


def test_the_action_server_listens_where_rasa_calls_it_whatever_anxin_bind_is(tmp_path):
    care = CareSettings(db_url="sqlite://")
    lan = RunSettings.from_env({**PUBLIC, "ANXIN_BIND": "192.168.1.20"})
    assert lan.actions_bind == "127.0.0.1"
    assert child_env(lan, care)["ANXIN_ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"
    apart = RunSettings.from_env({"ANXIN_ACTIONS_BIND": "10.0.0.7", "ANXIN_ACTIONS_PORT": "6000"})
    assert child_env(apart, care)["ANXIN_ACTION_ENDPOINT_URL"] == "http://10.0.0.7:6000/webhook"
    anywhere = RunSettings.from_env({"ANXIN_ACTIONS_BIND": "0.0.0.0"})
    assert anywhere.action_endpoint_url == "http://127.0.0.1:5055/webhook"
    # Rasa sends the token as a header it reads from the environment, not from the file.
    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    endpoint = _yaml(write_endpoints(run))["action_endpoint"]
    assert endpoint["headers"] == {"Authorization": "Bearer ${ANXIN_ACTION_TOKEN}"}
    assert run.action_token not in write_endpoints(run).read_text(encoding="utf-8")


def test_a_public_bind_with_telegram_needs_its_webhook_secret(monkeypatch):
    model, creds = Path("models/x.tar.gz"), Path("var/credentials.yml")
    ends = Path("var/endpoints.yml")
    monkeypatch.setenv("ANXIN_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.delenv("ANXIN_TELEGRAM_SECRET", raising=False)
    processes(RunSettings.from_env({}), model, creds, ends)  # local: `anxin telegram poll`
    with pytest.raises(SystemExit, match="ANXIN_TELEGRAM_SECRET"):
        processes(RunSettings.from_env(PUBLIC), model, creds, ends)
    monkeypatch.setenv("ANXIN_TELEGRAM_SECRET", "t3legram")
    processes(RunSettings.from_env(PUBLIC), model, creds, ends)


def test_channels_are_registered_only_when_their_secrets_are_set(tmp_path):
    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    # REST (Rasa's own, handing out staff replies too) and voice need no secrets: always on.
    rest = "channels.rest_staff.RestWithStaffInput"
    assert set(_yaml(write_credentials(run, {}))) == {rest, "channels.voice.VoiceInput"}
    env = {
        "ANXIN_WECHAT_TOKEN": "tok", "ANXIN_WECHAT_APPID": "wx1", "ANXIN_WECHAT_SECRET": "shh",
        "ANXIN_TELEGRAM_TOKEN": "123:abc",
    }  # fmt: skip
    path = write_credentials(run, env)
    assert _yaml(path) == {
        rest: None,
        "channels.voice.VoiceInput": {},
        "channels.wechat.WeChatInput": {},
        "channels.telegram.TelegramInput": {},
    }
    both = path.read_text(encoding="utf-8")
    assert "shh" not in both and "123:abc" not in both  # secrets stay in the environment
    with pytest.raises(SystemExit, match="ANXIN_WECHAT_SECRET"):
        write_credentials(run, {"ANXIN_WECHAT_TOKEN": "tok", "ANXIN_WECHAT_APPID": "wx1"})


def test_without_redis_one_rasa_process_keeps_conversations_in_memory(tmp_path):
    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    stores = _yaml(write_endpoints(run))
    assert set(stores) == {"action_endpoint", "tracker_store", "event_broker"}
    assert stores["tracker_store"] == {"type": "anxin.tracker_store.EventsInMemoryTrackerStore"}
    assert child_env(run, CareSettings(db_url="sqlite://"))["SANIC_WORKERS"] == "1"


def test_with_redis_workers_share_trackers_and_locks_and_the_password_stays_off_disk(tmp_path):
    env = {"ANXIN_VAR_DIR": str(tmp_path), "ANXIN_REDIS_URL": "redis://:pa%40ss@10.0.0.5:6380/2"}
    run = RunSettings.from_env({**env, "ANXIN_RASA_WORKERS": "3"})
    path = write_endpoints(run)
    stores = _yaml(path)
    assert stores["tracker_store"]["type"] == "redis"
    assert stores["lock_store"]["type"] == "anxin.lock_store.AtomicRedisLockStore"
    for store in ("tracker_store", "lock_store"):
        assert (stores[store]["url"], stores[store]["port"], stores[store]["db"]) == (
            "10.0.0.5",
            6380,
            2,
        )
        assert stores[store]["password"] == "${ANXIN_REDIS_PASSWORD}"  # Rasa substitutes it
    text = path.read_text(encoding="utf-8")
    assert "pa@ss" not in text and "pa%40ss" not in text
    child = child_env(run, CareSettings(db_url="sqlite://"))
    assert child["SANIC_WORKERS"] == "3" and child["ANXIN_REDIS_PASSWORD"] == "pa@ss"
    assert RunSettings.from_env(env).rasa_workers == 1  # more only when asked for
    with pytest.raises(SystemExit, match="ANXIN_RASA_WORKERS"):
        RunSettings.from_env({**env, "ANXIN_RASA_WORKERS": "0"})
    with pytest.raises(SystemExit, match="ANXIN_REDIS_URL"):
        write_endpoints(RunSettings.from_env({**env, "ANXIN_REDIS_URL": "localhost:6379"}))


def test_the_staff_console_runs_with_anxin_run_and_beyond_this_machine_only_over_https(
    monkeypatch,
):
    model, creds = Path("models/x.tar.gz"), Path("var/credentials.yml")
    ends = Path("var/endpoints.yml")
    local = RunSettings.from_env({"ANXIN_STAFF_PORT": "8181"})
    assert processes(local, model, creds, ends, staff=True)["staff"][-2:] == ["-m", "staff"]
    assert "staff" not in processes(local, model, creds, ends)  # benchmarks leave it out
    assert child_env(local, CareSettings(db_url="sqlite://"))["ANXIN_STAFF_PORT"] == "8181"
    public = RunSettings.from_env(PUBLIC)
    monkeypatch.delenv("ANXIN_STAFF_SECURE_COOKIES", raising=False)
    with pytest.raises(SystemExit, match="ANXIN_STAFF_SECURE_COOKIES"):
        processes(public, model, creds, ends, staff=True)
    monkeypatch.setenv("ANXIN_STAFF_SECURE_COOKIES", "1")
    assert "staff" in processes(public, model, creds, ends, staff=True)


def test_sanic_refuses_bodies_larger_than_any_route_takes_unless_the_operator_says(tmp_path):
    from channels.limits import MAX_REQUEST_BYTES
    from channels.voice import MAX_AUDIO_BYTES

    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    env = child_env(run, CareSettings(db_url="sqlite://"))
    assert int(env["SANIC_REQUEST_MAX_SIZE"]) == MAX_REQUEST_BYTES  # Sanic's own: 100 MB
    assert MAX_AUDIO_BYTES < MAX_REQUEST_BYTES < 2 * MAX_AUDIO_BYTES  # voice turns still fit
    from anxin.stack import sanic_limits

    assert sanic_limits({"SANIC_REQUEST_MAX_SIZE": "5000000"}) == {}
