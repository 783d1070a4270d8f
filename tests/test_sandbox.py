"""The workflow sandbox the engine runs (``workflows/sandbox.py``): what it passes through,
what it still imports afresh for every run, and that it still refuses non-deterministic calls."""

from __future__ import annotations

import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from claims.audit.replay import new_replayer
from claims.store.db import Sessions
from tests.support.clock_workflow import ClockReadingWorkflow
from tests.support.env import new_task_queue
from worker import production_worker
from workflows.claim import ClaimWorkflow
from workflows.sandbox import (
    PASSTHROUGH_MODULES,
    CompiledOnceFinder,
    CompiledOnceLoader,
    install_compiled_once,
    sandbox_restrictions,
    workflow_runner,
)

LISTED = {"claims.models", "claims.errors", "claims.infra.search", "activities"}
WORKFLOW_MODULES = {"workflows", "workflows.claim", "workflows.patches", "workflows.sla", "workflows.short_steps"}


def passed_through(restrictions: SandboxRestrictions, name: str) -> bool:
    """Whether the sandbox hands ``name`` through (a listed module or a submodule of one)."""
    parts = name.split(".")
    return restrictions.passthrough_all_modules or any(
        ".".join(parts[:i]) in restrictions.passthrough_modules for i in range(1, len(parts) + 1)
    )


@dataclass(frozen=True)
class KeepingRunner(SandboxedWorkflowRunner):
    """The sandboxed runner, keeping each instance it creates (to look inside its sandbox)."""

    kept: list[WorkflowInstance] = field(default_factory=list)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = super().create_instance(det)
        self.kept.append(instance)
        return instance


def sandbox_modules(instance: WorkflowInstance) -> dict[str, Any]:
    """The sandbox's own ``sys.modules`` (the SDK keeps it on the instance's importer)."""
    modules = getattr(getattr(instance, "importer", None), "new_modules", None)
    assert isinstance(modules, dict), "the SDK no longer keeps the sandbox's modules at instance.importer"
    return modules


async def new_claim_sandbox(runner: SandboxedWorkflowRunner) -> dict[str, Any]:
    """Create one new ``ClaimWorkflow`` sandbox with ``runner``'s restrictions; its modules."""
    keeping = KeepingRunner(restrictions=runner.restrictions)
    keeping.prepare_workflow(workflow._Definition.must_from_class(ClaimWorkflow))
    assert len(keeping.kept) == 1
    return sandbox_modules(keeping.kept[0])


async def test_the_production_worker_passes_the_listed_project_modules_through(
    env: WorkflowEnvironment, sqlite_sessions: Sessions
) -> None:
    runner = production_worker(env.client, sqlite_sessions).config()["workflow_runner"]
    assert isinstance(runner, SandboxedWorkflowRunner)
    restrictions = runner.restrictions
    assert set(PASSTHROUGH_MODULES) == LISTED
    assert LISTED <= restrictions.passthrough_modules
    for name in ("claims.models.steps", "claims.models.claim", "activities.store", "activities.rules"):
        assert passed_through(restrictions, name), name
    # the SDK's defaults stay: pydantic, temporalio and the standard library pass through ...
    assert {"pydantic", "pydantic_core", "temporalio", "datetime", "decimal"} <= restrictions.passthrough_modules
    # ... and so does its guard: every non-deterministic call it refuses is still refused
    assert restrictions.invalid_module_members == SandboxRestrictions.invalid_module_members_default
    assert not restrictions.passthrough_all_modules
    # the workflow code stays sandboxed; durable_rules and the store are never handed to a workflow
    for name in ("workflows.claim", "workflows.patches", "workflows.sla", "workflows.short_steps", "workflows.reports"):
        assert not passed_through(restrictions, name), name
    for name in ("rules", "rules.engine", "durable_rules", "claims.store", "claims.store.db", "claims"):
        assert not passed_through(restrictions, name), name


def test_the_replayer_of_claims_replay_runs_the_same_sandbox() -> None:
    runner = new_replayer(pydantic_data_converter).config()["workflow_runner"]
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert runner.restrictions == sandbox_restrictions()


async def test_a_new_claim_workflow_run_imports_afresh_only_the_workflow_modules() -> None:
    modules = await new_claim_sandbox(workflow_runner())
    fresh = {
        name
        for name, module in modules.items()
        if sys.modules.get(name) is not module and type(module).__name__ != "RestrictedModule"
    }
    assert fresh - {"__main__"} == WORKFLOW_MODULES
    # the models and activities are the worker's own copies
    assert modules["claims.models"] is sys.modules["claims.models"]
    assert modules["activities.store"] is sys.modules["activities.store"]
    # and the rules engine (durable_rules, global state) never enters a sandbox
    assert not [name for name in modules if name.startswith(("durable", "rules"))]


async def test_each_run_executes_the_workflow_modules_afresh_from_code_compiled_once() -> None:
    first = await new_claim_sandbox(workflow_runner())
    second = await new_claim_sandbox(workflow_runner())
    one, two = first["workflows.claim"], second["workflows.claim"]
    # isolation kept: each run has its own module, its own class and its own module-level values
    assert one is not two and one.ClaimWorkflow is not two.ClaimWorkflow
    assert one.COMPUTE_RETRY is not two.COMPUTE_RETRY
    # ... executed from the one compiled code object, as a .pyc would give it
    assert isinstance(one.__loader__, CompiledOnceLoader)
    assert one.ClaimWorkflow.run.__code__ is two.ClaimWorkflow.run.__code__
    assert one.__file__ == str(Path(sys.modules["workflows.claim"].__file__))


def test_a_changed_source_file_is_compiled_again(tmp_path: Path) -> None:
    package = tmp_path / "sandbox_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""Probe."""\n')
    source = package / "value.py"
    source.write_text("VALUE = 1\n")
    sys.path.insert(0, str(tmp_path))
    finder = install_compiled_once(("sandbox_probe_pkg",))
    try:
        assert install_compiled_once(("sandbox_probe_pkg",)) is finder  # once per process
        import sandbox_probe_pkg.value as first  # type: ignore[import-not-found]

        assert first.VALUE == 1 and isinstance(first.__loader__, CompiledOnceLoader)
        del sys.modules["sandbox_probe_pkg.value"]
        import sandbox_probe_pkg.value as again  # type: ignore[import-not-found]

        assert again is not first and again.VALUE == 1
        source.write_text("VALUE = 22\n")  # a new size: another version of the file
        del sys.modules["sandbox_probe_pkg.value"]
        import sandbox_probe_pkg.value as changed  # type: ignore[import-not-found]

        assert changed.VALUE == 22
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("sandbox_probe_pkg")]:
            del sys.modules[name]


def test_the_finder_leaves_other_modules_to_the_other_finders() -> None:
    finder = CompiledOnceFinder(("workflows",))
    assert finder.find_spec("json", None) is None
    assert finder.find_spec("workflows_elsewhere", None) is None
    spec = finder.find_spec("workflows.sla", list(sys.modules["workflows"].__path__))
    assert spec is not None and isinstance(spec.loader, CompiledOnceLoader)
    assert spec.origin == sys.modules["workflows.sla"].__file__


async def _run_clock_workflow(env: WorkflowEnvironment, runner: SandboxedWorkflowRunner) -> str:
    queue = new_task_queue()
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ClockReadingWorkflow],
        activity_executor=ThreadPoolExecutor(1),
        workflow_runner=runner,
        workflow_failure_exception_types=[workflow.NondeterminismError],
    ):
        with env.auto_time_skipping_disabled():  # the session's server: no other test's clock moves
            return await env.client.execute_workflow(
                ClockReadingWorkflow.run, id=f"clock-{uuid.uuid4()}", task_queue=queue
            )


async def test_the_sandbox_still_refuses_a_wall_clock_read_in_workflow_code(env: WorkflowEnvironment) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await _run_clock_workflow(env, workflow_runner())
    assert "datetime.datetime.now" in str(failure.value.cause)


async def test_a_passed_through_module_would_escape_that_guard(env: WorkflowEnvironment) -> None:
    # why the workflow modules are not on the passthrough list: their code would see the real clock
    escaped = SandboxedWorkflowRunner(
        restrictions=sandbox_restrictions().with_passthrough_modules("tests.support.clock_workflow")
    )
    assert len(await _run_clock_workflow(env, escaped)) >= len("2026-01-01T00:00:00")
