"""What one message costs the NLU, at the message limit: ``python -m anxin.bench.message_cost``.

The trained model in ``models/`` is loaded as ``anxin.rasa_server`` runs it (our graph
runner and regex featurizer, jieba initialised), and each kind of hostile or odd text at the limit
(channels/limits.py, 2,000 characters) is parsed ``--repeat`` times; the time of the
whole NLU graph and of its slowest component are reported (median and worst). With
``--sizes`` the same texts at other lengths show how each component grows: a component
whose time grows faster than the text is a bug to fix, the limit only a backstop.

Run it on a quiet machine; a busy one adds its own delays. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from channels.limits import message_limit

UNITS: dict[str, str] = {
    "Chinese": "我想订明天的午饭送到家里，谢谢你们。",
    "English words": "I would like to book lunch for tomorrow please ",
    "one token": "a",
    "digits": "1",
    "emoji": "😀",
    "mixed": "明天 lunch 3点 😀 120 abc 我想 ",
    "明天下午三点 repeated": "明天下午三点",
    "numbers": "12 ",
    "dates and times": "下周三上午九点半，11月28号 12:30 ",
    "danger words": "我摔倒了起不来",
}


def texts(length: int) -> dict[str, str]:
    return {name: (unit * (length // len(unit) + 1))[:length] for name, unit in UNITS.items()}


def _timed_runner(times: dict[str, float]) -> type:
    """Our graph runner (anxin.graph_runner), timing each node it runs into ``times``."""
    from anxin.graph_runner import SequentialGraphRunner

    class Timed(SequentialGraphRunner):
        def run(self, inputs: Any = None, targets: Any = None) -> dict[str, Any]:
            run_targets = targets if targets else self._graph_schema.target_names
            values = {name: (name, value) for name, value in (inputs or {}).items()}
            for name, needs in self._plan(run_targets, frozenset(values)):
                started = time.perf_counter()
                values[name] = self._instantiated_nodes[name](*(values[n] for n in needs))
                times[name] = times.get(name, 0.0) + time.perf_counter() - started
            return dict(values[target] for target in run_targets)

    return Timed


def _component(node: str) -> str:
    """``run_anxin.nlu_when.WhenExtractor9`` → ``WhenExtractor``."""
    return node.rsplit(".", 1)[-1].rstrip("0123456789").removeprefix("run_")


async def measure(model: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    import jieba
    import rasa.core.processor
    from rasa.core.agent import Agent

    from anxin import regex_features

    regex_features.install()
    jieba.initialize()
    times: dict[str, float] = {}
    # As anxin.graph_runner.install() does, with a runner that times each component.
    rasa.core.processor.DaskGraphRunner = _timed_runner(times)  # type: ignore[misc]
    agent = Agent.load(str(model))
    await agent.parse_message("你好")  # what loads lazily
    rows = []
    for size in sizes:
        for name, text in texts(size).items():
            totals, slowest = [], []
            for _ in range(repeat):
                times.clear()
                started = time.perf_counter()
                await agent.parse_message(text)
                totals.append(time.perf_counter() - started)
                slowest.append(max(times.items(), key=lambda kv: kv[1]))
            worst = max(slowest, key=lambda kv: kv[1])
            rows.append(
                {"case": name, "chars": size, "median_s": statistics.median(totals),
                 "max_s": max(totals), "slowest": _component(worst[0]),
                 "slowest_s": worst[1]}  # fmt: skip
            )
            print(_row(rows[-1]), flush=True)
    return rows


def _row(r: dict[str, Any]) -> str:
    return (
        f"| {r['case']} | {r['chars']} | {r['median_s']:.3f} | {r['max_s']:.3f} "
        f"| {r['slowest']} {r['slowest_s']:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model archive (default: newest in models/)")
    parser.add_argument("--sizes", default="", help="lengths, comma-separated (default: limit)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    model = args.model or max(Path("models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] or [message_limit()]
    logging.disable(logging.WARNING)  # Rasa's debug lines quote every message
    print("| text | characters | median s | worst s | slowest component, worst s |")
    print("|---|---|---|---|---|")
    asyncio.run(measure(model, sizes, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
