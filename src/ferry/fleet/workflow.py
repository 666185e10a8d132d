"""One migration as one Temporal workflow.

extract (one activity per resource; pages heartbeat their checkpoint) → map (proposed if absent;
waits for the ``map_confirmed`` signal until mapping.yaml is confirmed) → prepare → sample →
PHI review (waits for ``phi_decided`` while items are pending) → go/no-go (waits for ``go``) →
run → the delta window (a durable timer every ``delta_every_s`` until ``cutover``) → reconcile.
``rollback`` at any wait reverts every audited write and ends the workflow. The ``state`` query
is what ``ferry status --temporal`` shows.

This module is loaded in Temporal's workflow sandbox: it imports nothing of Ferry's and calls
the activities (``ferry.fleet.activities``) by name. A migration's activities run one at a time;
an account's rate budget is shared through the PostgreSQL store by every worker all the same
(an activity retried elsewhere while a stalled one still runs, or two projects on one token).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

#: errors a retry cannot fix: a person must act (Ferry's error classes, by name), or a defect
#: in Ferry (the same code on the same data fails the same way on every worker)
FATAL = ["ConfigError", "MappingError", "IntegrityError", "FatalError", "BudgetExhausted",
         "TypeError", "AttributeError", "NameError", "ImportError"]


@dataclass
class MigrationInput:
    project: str  # the project folder, reachable at the same path by every worker
    sample_size: int = 200
    delta_every_s: float = 15 * 60
    heartbeat_s: float = 120.0
    attempts: int = 10


@workflow.defn(name="FerryMigration")
class MigrationWorkflow:
    def __init__(self) -> None:
        self._state: dict[str, Any] = {"phase": "starting", "waiting_for": None,
                                       "extracted": {}, "delta_passes": 0, "results": {}}
        self._signals: dict[str, Any] = {}

    # -- signals and the query ----------------------------------------------------------------
    @workflow.signal
    def map_confirmed(self) -> None:
        self._signals["map_confirmed"] = True

    @workflow.signal
    def phi_decided(self) -> None:
        self._signals["phi_decided"] = True

    @workflow.signal
    def go(self, decision: bool) -> None:
        self._signals["go"] = bool(decision)

    @workflow.signal
    def cutover(self) -> None:
        self._signals["cutover"] = True

    @workflow.signal
    def rollback(self) -> None:
        self._signals["rollback"] = True

    @workflow.query
    def state(self) -> dict[str, Any]:
        return self._state

    # -- the migration ------------------------------------------------------------------------
    async def _act(self, name: str, *args: Any) -> Any:
        inp = self._inp
        return await workflow.execute_activity(
            name, args=[inp.project, *args],
            start_to_close_timeout=timedelta(hours=48),
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_s),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1),
                                     maximum_interval=timedelta(seconds=30),
                                     maximum_attempts=inp.attempts,
                                     non_retryable_error_types=FATAL))

    def _phase(self, phase: str, waiting_for: str | None = None) -> None:
        self._state["phase"], self._state["waiting_for"] = phase, waiting_for

    async def _wait(self, signal: str) -> bool:
        """Wait for ``signal`` (consumed) or a rollback; False when a rollback came first."""
        self._phase(self._state["phase"], signal)
        await workflow.wait_condition(lambda: signal in self._signals
                                      or "rollback" in self._signals)
        self._state["waiting_for"] = None
        if "rollback" in self._signals:
            return False
        return True

    async def _rolled_back(self) -> dict[str, Any]:
        self._phase("rollback")
        self._state["results"]["rollback"] = await self._act("ferry.rollback")
        self._phase("rolled back")
        return self._state

    @workflow.run
    async def run(self, inp: MigrationInput) -> dict[str, Any]:
        self._inp = inp
        results = self._state["results"]
        for obj in await self._act("ferry.objects"):
            self._phase(f"extract {obj}")
            self._state["extracted"][obj] = (await self._act("ferry.extract", obj))["staged"]

        self._phase("map")
        self._state["map_checks"] = 0
        while not (await self._act("ferry.map_status"))["confirmed"]:
            self._state["map_checks"] += 1
            self._signals.pop("map_confirmed", None)
            if not await self._wait("map_confirmed"):
                return await self._rolled_back()

        self._phase("prepare")
        results["prepare"] = await self._act("ferry.prepare")
        self._phase("sample")
        results["sample"] = await self._act("ferry.sample", inp.sample_size)

        self._phase("phi review")
        while (await self._act("ferry.phi_pending"))["pending"]:
            self._signals.pop("phi_decided", None)
            if not await self._wait("phi_decided"):
                return await self._rolled_back()

        self._phase("go/no-go")
        if not await self._wait("go"):
            return await self._rolled_back()
        if not self._signals["go"]:
            self._phase("stopped (no-go)")
            return self._state

        self._phase("run")
        results["run"] = await self._act("ferry.run")

        self._phase("delta window")
        while True:
            self._state["waiting_for"] = "cutover"
            try:  # a durable timer: it fires on time even if no worker is alive meanwhile
                await workflow.wait_condition(
                    lambda: "cutover" in self._signals or "rollback" in self._signals,
                    timeout=timedelta(seconds=inp.delta_every_s))
            except TimeoutError:
                self._state["waiting_for"] = None
                results["delta"] = await self._act("ferry.delta")
                self._state["delta_passes"] += 1
                continue
            break
        self._state["waiting_for"] = None
        if "rollback" in self._signals:
            return await self._rolled_back()
        results["final_delta"] = await self._act("ferry.delta")  # changes since the last pass

        self._phase("reconcile")
        results["reconcile"] = await self._act("ferry.reconcile")
        if "rollback" in self._signals:
            return await self._rolled_back()
        self._phase("done")
        return self._state
