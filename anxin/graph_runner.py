"""Rasa's prediction graphs run node by node in Python, without dask's scheduler.

Rasa 3.6 runs each message's NLU graph and each action prediction through
``dask.get`` (its synchronous scheduler): for our twenty-odd nodes, building the
task graph, ordering it and firing the tasks cost about a tenth of the Rasa
server's CPU in a booking conversation (py-spy during ``anxin bench channels``,
docs/benchmarks.md) — more than most of the components themselves. The nodes are
Rasa's own ``GraphNode`` objects and are called with the same arguments, each once,
after everything it needs; only the scheduling is ours. Tests compare the results
with ``DaskGraphRunner``'s (tests/anxin/test_graph_runner.py).

Used for prediction only (``anxin.rasa_server`` installs it); training keeps dask.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner


def run_order(schema: GraphSchema, inputs: frozenset[str]) -> list[str]:
    """The schema's nodes, each after the nodes it needs (an input replaces a node)."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False: being visited, True: placed

    def visit(name: str) -> None:
        if state.get(name) is True or name in inputs or name not in schema.nodes:
            return
        if state.get(name) is False:
            raise GraphRunError(f"the graph has a cycle through '{name}'")
        state[name] = False
        for needed in schema.nodes[name].needs.values():
            visit(needed)
        state[name] = True
        order.append(name)

    for name in schema.nodes:
        visit(name)
    return order


# Each node to run, in order, with the names of the values it is called with.
Plan = list[tuple[str, tuple[str, ...]]]


class SequentialGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` whose ``run`` calls the nodes itself, in dependency order."""

    _plans: dict[tuple[tuple[str, ...], frozenset[str]], list[tuple[str, tuple[str, ...]]]]

    def _plan(
        self, targets: list[str], inputs: frozenset[str]
    ) -> list[tuple[str, tuple[str, ...]]]:
        plans: dict[tuple[tuple[str, ...], frozenset[str]], Plan]
        plans = self.__dict__.setdefault("_plans", {})
        key = (tuple(targets), inputs)
        plan = plans.get(key)
        if plan is None:
            schema = self._graph_schema.minimal_graph_schema(targets)
            plan = [
                (name, tuple(schema.nodes[name].needs.values()))
                for name in run_order(schema, inputs)
            ]
            plans[key] = plan
        return plan

    def run(
        self,
        inputs: Optional[dict[str, Any]] = None,
        targets: Optional[list[str]] = None,
    ) -> dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        values: dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in self._graph_schema.nodes:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema."
                )
            values[name] = (name, value)  # as dask gets it: (name, value), like a node's
        try:
            for name, needs in self._plan(run_targets, frozenset(values)):
                values[name] = self._instantiated_nodes[name](*(values[n] for n in needs))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(values[target] for target in run_targets)


def install() -> None:
    """Rasa's message processor builds its prediction graph runner with ours."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]
