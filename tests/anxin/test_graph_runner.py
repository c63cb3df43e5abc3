"""Our graph runner gives dask's results: same outputs, each node run once, same errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from anxin.graph_runner import SequentialGraphRunner, run_order

CALLS: List[str] = []


class Mix(GraphComponent):
    """A node's value: its name and what it was given, in argument order."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.name = config["name"]

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Mix:
        return cls(config)

    def run(self, **given: Any) -> Any:
        CALLS.append(self.name)
        if self.name == "boom" or "boom" in given.values():
            raise RuntimeError("a node failed")
        return (self.name, tuple(sorted(given.items())))


def node(name: str, needs: Dict[str, str], target: bool = False) -> SchemaNode:
    return SchemaNode(
        needs=needs, uses=Mix, constructor_name="create", fn="run",
        config={"name": name}, is_target=target,
    )  # fmt: skip


@st.composite
def graphs(draw: Any) -> tuple[GraphSchema, list[str], dict[str, Any]]:
    """A random DAG: node i needs some of the nodes before it and maybe the input."""
    count = draw(st.integers(1, 8))
    nodes: Dict[str, SchemaNode] = {}
    for i in range(count):
        earlier = [f"n{j}" for j in range(i)] + ["__input__"]
        needs = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3))
        nodes[f"n{i}"] = node(f"n{i}", {f"arg_{n}": n for n in needs})
    names = sorted(nodes)
    targets = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=3))
    return GraphSchema(nodes), targets, {"__input__": draw(st.integers())}


def runners(schema: GraphSchema, tmp: Path) -> tuple[DaskGraphRunner, SequentialGraphRunner]:
    storage = LocalModelStorage(tmp)
    context = ExecutionContext(schema, "test")
    return (
        DaskGraphRunner.create(schema, storage, context),
        SequentialGraphRunner.create(schema, storage, context),
    )  # type: ignore[return-value]


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_same_results_and_each_needed_node_once(tmp_path_factory, drawn):
    schema, targets, inputs = drawn
    dask_runner, ours = runners(schema, tmp_path_factory.mktemp("g"))
    CALLS.clear()
    expected = dask_runner.run(inputs, targets)
    dask_calls = sorted(CALLS)
    CALLS.clear()
    assert ours.run(inputs, targets) == expected
    assert sorted(CALLS) == dask_calls  # the same nodes, each once: unneeded ones not run
    CALLS.clear()
    assert ours.run(inputs, targets) == expected  # the cached plan gives the same again
    assert sorted(CALLS) == dask_calls


def test_default_targets_and_an_input_that_replaces_a_node(tmp_path):
    schema = GraphSchema(
        {
            "a": node("a", {}),
            "b": node("b", {"x": "a"}),
            "out": node("out", {"x": "b", "y": "a"}, target=True),
        }
    )
    dask_runner, ours = runners(schema, tmp_path)
    assert ours.run() == dask_runner.run()
    assert ours.run({"a": 5}) == dask_runner.run({"a": 5})
    assert ours.run({"a": 5}) != ours.run()


def test_a_failing_node_fails_the_same_way_and_a_clash_is_refused(tmp_path):
    schema = GraphSchema({"boom": node("boom", {}), "out": node("out", {"x": "boom"})})
    dask_runner, ours = runners(schema, tmp_path)
    for runner in (dask_runner, ours):
        with pytest.raises(GraphComponentException, match="node boom"):
            runner.run(targets=["out"])
        with pytest.raises(GraphRunError, match="clashes"):
            runner.run({"x": "boom"}, targets=["out"])


def test_cycles_are_refused():
    schema = GraphSchema({"a": node("a", {"x": "b"}), "b": node("b", {"x": "a"})})
    with pytest.raises(GraphRunError, match="cycle"):
        run_order(schema, frozenset())


MESSAGES = [
    "你好",
    "帮我订明天的午饭在食堂吃",
    "我摔倒了起不来",
    "我都约了啥",
    "book lunch tomorrow at the canteen",
    "I feel so lonely these days",
    "can I see a dentist next monday morning",
    "asdf qwer",
]


@pytest.fixture(scope="module")
def model() -> Path:
    import os

    from anxin.config import RunSettings
    from anxin.stack import child_env
    from anxin.train import train
    from care.config import CareSettings

    run = RunSettings.from_env()
    env = {**os.environ, **child_env(run, CareSettings.from_env())}
    return train(run.root, run.models_dir, env)  # a no-op when `make test` trained it


async def test_the_trained_model_parses_and_predicts_the_same(model):
    from rasa.core.agent import Agent
    from rasa.core.channels import UserMessage
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    agent = Agent.load(str(model))
    processor = agent.processor
    assert processor is not None and type(processor.graph_runner) is DaskGraphRunner
    stock = processor.graph_runner
    ours = SequentialGraphRunner.__new__(SequentialGraphRunner)
    ours.__dict__.update(stock.__dict__)  # the same loaded nodes, run our way

    for text in MESSAGES:
        results = []
        for runner in (stock, ours):
            processor.graph_runner = runner
            parsed = await processor.parse_message(UserMessage(text))
            tracker = DialogueStateTracker.from_events(
                "t",
                [
                    ActionExecuted("action_listen"),
                    UserUttered(text, parsed["intent"], parsed["entities"], parsed),
                ],
            )
            prediction = processor._predict_next_with_tracker(tracker)
            results.append((parsed, prediction.policy_name, prediction.probabilities))
        assert results[0] == results[1], text
    assert results[0][0]["intent"]["name"] != ""
