"""``anxin bench channels``: who answered each message, percentiles, verdicts, the table;
WeChat's side (signed, encrypted callbacks; the API fake) against the channel's own code;
and one small run against the real stack.

Nothing here asserts how fast anything is: timings belong in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections import Counter
from pathlib import Path

import pytest
from wechatpy.crypto import WeChatCrypto

from anxin.bench.channels import bench, chinese_script
from anxin.bench.channels_report import (
    API,
    FAILED,
    NONE,
    PASSIVE,
    TWICE,
    ChannelsResult,
    Sent,
    answered_once,
    attribute,
    command_line,
    format_steps,
    format_table,
    latency,
    verdicts,
)
from anxin.bench.conversations import ANXIN_STEPS
from anxin.bench.wechat_fake import (
    AES_KEY,
    APP_ID,
    SECRET,
    TOKEN,
    Ack,
    Delivered,
    FakeWeChatAPI,
    WeChatClient,
)
from care import migrate
from care.config import CareSettings
from care.services import build
from channels.config import WeChatSettings
from channels.wechat_api import WeChatAPI
from channels.wechat_xml import Rejected, decode, parse, passive_reply

DAYS = [("后天", "the day after tomorrow"), ("下周一", "next monday")]


def passive(text: str, seconds: float = 0.1) -> Ack:
    return Ack(200, text, seconds)


def success(seconds: float = 3.6) -> Ack:
    return Ack(200, "", seconds)


def sent(openid: str, step: int, posted: float, ack: Ack) -> Sent:
    return Sent(openid, step, f"message {step}", posted, ack)


def result(messages: list[Sent], strays: int = 0) -> ChannelsResult:
    return ChannelsResult("safe mode (AES)", 20, messages, seconds=10.0, strays=strays)


# ---------------------------------------------------------------- percentiles


def test_latency_is_nearest_rank_in_milliseconds_with_the_maximum() -> None:
    lat = latency([i / 1000 for i in range(600, 0, -1)])  # 1..600 ms, unsorted
    assert (lat.n, lat.p50_ms, lat.p95_ms, lat.p99_ms, lat.max_ms) == (600, 300, 570, 594, 600)
    # 20 values: p99 is the largest (rank ceil(19.8) = 20), not the 19th.
    assert latency([i / 1000 for i in range(1, 21)]).p99_ms == 20
    empty = latency([])
    assert empty.n == 0 and math.isnan(empty.p99_ms) and math.isnan(empty.max_ms)


# ---------------------------------------------------------------- one answer per message


def test_how_a_message_was_answered() -> None:
    late = Delivered("o1", 5.0, "订好了")
    assert sent("o1", 0, 1.0, passive("您好")).how == PASSIVE
    assert Sent("o1", 0, "x", 1.0, success(), [late]).how == API
    assert sent("o1", 0, 1.0, success()).how == NONE
    assert Sent("o1", 0, "x", 1.0, passive("您好"), [late]).how == TWICE
    assert sent("o1", 0, 1.0, Ack(0, "", 30.0, "TimeoutError: timed out")).how == FAILED
    assert sent("o1", 0, 1.0, Ack(500, "", 0.1, "HTTP 500")).how == FAILED


def test_customer_service_messages_answer_the_last_message_sent_before_them() -> None:
    a0 = sent("oA", 0, 10.0, success())
    a1 = sent("oA", 1, 14.0, passive("请问怎么称呼您？"))
    a2 = sent("oA", 2, 15.0, success())
    b0 = sent("oB", 0, 10.5, success())
    delivered = [
        Delivered("oA", 13.2, "您想在食堂吃还是送到家？"),
        Delivered("oB", 11.0, "您好"),
        Delivered("oA", 19.0, "订好了"),
        Delivered("oA", 19.5, "（续）"),
        Delivered("oC", 12.0, "to nobody in this run"),
        Delivered("oB", 9.0, "before oB wrote"),
    ]
    b0.api.append(Delivered("oB", 0.0, "left over from an earlier attribution"))
    strays = attribute([a2, b0, a1, a0], delivered)
    assert [d.text for d in strays] == ["before oB wrote", "to nobody in this run"]
    assert [d.text for d in a0.api] == ["您想在食堂吃还是送到家？"]
    assert a1.api == [] and a1.how == PASSIVE
    assert [d.text for d in a2.api] == ["订好了", "（续）"]
    assert a2.answer == "订好了\n\n（续）"
    assert [d.text for d in b0.api] == ["您好"]
    assert a0.answer_s == pytest.approx(3.2) and b0.answer_s == pytest.approx(0.5)
    assert a1.answer_s == pytest.approx(0.1)  # passive: the acknowledgement is the answer
    assert sent("oD", 0, 1.0, success()).answer_s is None


# ---------------------------------------------------------------- verdicts and report


def answered(acks_ms: list[float]) -> list[Sent]:
    return [
        sent(f"o{i}", i % 6, float(i), passive("好", ms / 1000)) for i, ms in enumerate(acks_ms)
    ]


def test_verdicts_at_the_limits() -> None:
    ok = verdicts(result(answered([100.0] * 99 + [1000.0])))
    assert ok == [
        "acknowledgement p99 100 ms (target ≤ 1000 ms): met",
        "acknowledgement max 1000 ms (never past 4500 ms): met",
        "every message answered exactly once: 100 of 100: met",
    ]
    exactly = verdicts(result(answered([100.0] * 98 + [1000.0, 1000.0])))
    assert exactly[0] == "acknowledgement p99 1000 ms (target ≤ 1000 ms): met"
    # Two slow acknowledgements of 100: the 99th value is slow.
    slow = verdicts(result(answered([100.0] * 98 + [1001.0, 4500.0])))
    assert slow[0] == "acknowledgement p99 1001 ms (target ≤ 1000 ms): NOT met"
    assert slow[1].endswith("4500 ms (never past 4500 ms): met")
    assert verdicts(result(answered([100.0, 4501.0])))[1].endswith(": NOT met")


def test_a_missing_or_doubled_answer_or_a_stray_fails_the_one_answer_verdict() -> None:
    fine = answered([100.0] * 5)
    assert answered_once(result(fine))
    assert not answered_once(result(fine, strays=1))
    assert verdicts(result(fine, strays=1))[2] == (
        "every message answered exactly once: 5 of 5, "
        "1 customer-service message(s) to nobody: NOT met"
    )
    missing = [*fine, sent("oX", 0, 1.0, success())]
    assert verdicts(result(missing))[2] == "every message answered exactly once: 5 of 6: NOT met"
    twice = [*fine, Sent("oX", 0, "x", 1.0, passive("好"), [Delivered("oX", 2.0, "好")])]
    assert not answered_once(result(twice))
    assert not answered_once(result([]))
    assert verdicts(result([]))[0].endswith(": NOT met")  # no figures, no verdict


def test_table_shows_the_figures_the_issue_asks_for() -> None:
    messages = answered([80.0, 90.0, 100.0, 110.0, 120.0])
    via_api = Sent("oY", 3, "对", 50.0, success(3.55), [Delivered("oY", 54.0, "订好了")])
    messages.append(via_api)
    r = result(messages)
    r.ready_s, r.cpu_ms, r.rss = 31.7, {"actions": 8.4, "rasa": 26.6}, {"rasa": 911 * 2**20}
    r.other_cores, r.load, r.bench_cores = 1.36, (1.63, 1.70), 0.21
    r.outcomes, r.db_bookings = Counter({"booked": 6}), 6
    table = format_table(r)
    lines = table.splitlines()
    assert lines[:2] == ["| | |", "|---|---|"]
    assert "| WeChat channel | safe mode (AES), passive deadline 3.5 s |" in lines
    assert "| users at once, conversations, messages | 20, 6, 6 |" in lines
    assert "| wall time, msg/s | 10.0 s, 0.6 |" in lines
    pause = "| pause between an answer and the next message | none (the next message at once) |"
    assert pause in lines
    assert "| acknowledgement p50 / p95 / p99 / max | 100 ms / 3550 ms / 3550 ms / 3550 ms |" in (
        lines
    )
    assert "| acknowledged after 5 s (WeChat would retry) | 0 |" in lines
    assert (
        "| answers | 5 passive, 1 `success` + customer-service API; none missing or doubled |"
        in lines
    )
    assert "| customer-service answers: time to the message, p50 / max | 4000 ms / 4000 ms |" in (
        lines
    )
    assert "| lunch bookings (conversations) | 6 booked; 6 in the database |" in lines
    assert "| server CPU per message | 35 ms (actions 8 + rasa 27) |" in lines
    assert "| peak RSS, Rasa / action server | 911 MiB / — |" in lines
    assert "| CPU of this bench (WeChat's side: users, encryption, API fake) | 0.21 cores |" in (
        lines
    )
    assert (
        "| other work on the machine during the run | 1.36 cores "
        "(load average 1.63 before, 1.70 after) |" in lines
    )

    steps = format_steps(r, ANXIN_STEPS).splitlines()
    assert steps[0] == "| step | p50 | p95 | p99 | max | through the API |"
    assert steps[2] == "| greet | 80 ms | 80 ms | 80 ms | 80 ms | 0 of 1 |"
    assert steps[5] == "| confirm | 110 ms | 3550 ms | 3550 ms | 3550 ms | 1 of 2 |"
    assert len(steps) == 2 + len(ANXIN_STEPS)


def test_table_names_what_went_wrong() -> None:
    r = result([sent("o1", 0, 1.0, success(6.0)), sent("o2", 0, 1.0, Ack(0, "", 30.0, "x"))])
    r.think_s = 2.5
    lines = format_table(r).splitlines()
    assert "| pause between an answer and the next message | 2.5 s |" in lines
    assert "| acknowledged after 5 s (WeChat would retry) | 2 |" in lines
    assert "| CPU of this bench (WeChat's side: users, encryption, API fake) | — |" in lines
    answers = "0 passive, 0 `success` + customer-service API; 1 no answer, 1 request failed"
    assert f"| answers | {answers} |" in lines


def test_command_line_spells_out_every_option() -> None:
    assert command_line(20, 600, 5035, 5085, False) == (
        "anxin bench channels --users 20 --messages 600 --rasa-port 5035 --actions-port 5085"
    )
    assert command_line(3, 18, 1, 2, plaintext=True).endswith("--actions-port 2 --plaintext")
    assert command_line(20, 600, 5035, 5085, think_s=2.0).endswith("--actions-port 5085 --think 2")


def test_conversations_are_chinese_and_spread_over_the_days() -> None:
    first, second, third = (chinese_script(k, DAYS, f"o{k}") for k in range(3))
    assert first.messages == (
        "你好",
        "帮我订后天的午饭在食堂吃",
        "张桂芬",
        "对",
        "我都约了啥",
        "谢谢",
    )
    assert second.messages[1] == "帮我订下周一的午饭在食堂吃" and second.messages[2] == "李秀兰"
    assert third.messages[1] == first.messages[1]
    assert len(first.messages) == len(ANXIN_STEPS) and third.sender == "o2"


# ---------------------------------------------------------------- WeChat's side


@pytest.mark.parametrize("aes_key", [AES_KEY, None], ids=["safe mode", "plaintext"])
def test_callbacks_pass_the_channels_own_checks_and_replies_are_read_back(aes_key) -> None:
    client = WeChatClient("http://unused", aes_key=aes_key)
    channel_crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    args, body = client.callback("oLiXiulan", "帮我订后天的午饭在食堂吃", 1234567)
    xml, encrypted = decode(TOKEN, args, body, channel_crypto)
    assert encrypted == (aes_key is not None)
    incoming = parse(xml)
    assert (incoming.kind, incoming.openid, incoming.text, incoming.key) == (
        "text",
        "oLiXiulan",
        "帮我订后天的午饭在食堂吃",
        "msg:1234567",
    )
    with pytest.raises(Rejected):
        decode("another-token", args, body, channel_crypto)

    reply = passive_reply(incoming, "订好了：后天 午饭")
    if encrypted:
        reply = channel_crypto.encrypt_message(reply, args["nonce"], args["timestamp"])
        assert "订好了" not in reply
    assert client.reply_text(reply) == "订好了：后天 午饭"
    assert client.reply_text("success") == "" and client.reply_text("") == ""


def test_the_api_fake_serves_the_channels_own_client(tmp_path: Path) -> None:
    care = build(CareSettings(db_url=f"sqlite:///{tmp_path / 'anxin.db'}"))
    migrate.upgrade(care.db)  # the access token is kept in the database

    async def send(settings: WeChatSettings) -> None:
        api = WeChatAPI(settings, care.channels)
        try:
            await api.send_text("oLiXiulan", "订好了")
            await api.send_text("oLiXiulan", "谢谢")
        finally:
            await api.close()

    try:
        with FakeWeChatAPI() as fake:
            settings = WeChatSettings(TOKEN, APP_ID, SECRET, api_base=fake.base)
            asyncio.run(send(settings))
            assert [(d.openid, d.text) for d in fake.delivered] == [
                ("oLiXiulan", "订好了"),
                ("oLiXiulan", "谢谢"),
            ]
            assert fake.token_requests == 1 and fake.refused == 0
            assert fake.count("oLiXiulan") == 2 and fake.wait_for("oLiXiulan", 2, timeout=0)
            assert not fake.wait_for("oLiXiulan", 3, timeout=0.2)
            assert fake.delivered[0].at <= fake.delivered[1].at

            wrong = WeChatSettings(TOKEN, APP_ID, "not-the-secret", api_base=fake.base)
            care.channels.save_token(f"wechat:{APP_ID}", "STALE", care.clock())  # expired
            with pytest.raises(Exception, match="40125"):
                asyncio.run(send(wrong))
            assert fake.refused == 1 and len(fake.delivered) == 2
    finally:
        care.close()


# ---------------------------------------------------------------- the real stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_three_users_book_lunch_over_wechat_and_every_message_gets_one_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short enough that slower turns take the customer-service path, long enough that
    # quick ones are answered passively: either way, one answer per message.
    monkeypatch.setenv("ANXIN_WECHAT_PASSIVE_S", "0.15")
    r = bench(tmp_path, 3, 18, free_port(), free_port(), safe=True)
    assert r.mode == "safe mode (AES)" and r.passive_deadline_s == 0.15
    assert len(r.sent) == 18 and r.conversations == 3
    assert answered_once(r), [(s.openid, s.step, s.how, s.ack.error) for s in r.sent]
    assert all(s.answer for s in r.sent)
    assert r.outcomes == Counter({"booked": 3}) and r.db_bookings == 3
    assert verdicts(r)[2] == "every message answered exactly once: 18 of 18: met"
