"""The workflow sandbox the engine runs (``workflows/sandbox.py``): what it passes through,
what it still imports afresh for every run, and that it still refuses non-deterministic calls."""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance as SdkInstance

from claims.audit.replay import new_replayer
from claims.store.db import Sessions
from tests.support.clock_workflow import ClockReadingWorkflow
from tests.support.context_workflow import ContextProbeWorkflow, shout
from tests.support.env import new_task_queue
from worker import production_worker
from workflows.claim import ClaimWorkflow
from workflows.sandbox import (
    PASSTHROUGH_MODULES,
    ClaimsSandboxedWorkflowRunner,
    CompiledOnceFinder,
    CompiledOnceLoader,
    _CompiledSnippetInstance,
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
class KeepingRunner(ClaimsSandboxedWorkflowRunner):
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


def test_the_sdk_still_enters_its_sandbox_through_the_one_method_the_runner_overrides() -> None:
    # workflows.sandbox subclasses the SDK's private sandboxed instance: an SDK upgrade that
    # renames or reshapes it must fail here, not silently fall back to compiling every call
    import inspect

    from temporalio.worker.workflow_sandbox import _runner as sdk_runner

    from workflows.sandbox import _CompiledSnippetInstance

    assert issubclass(_CompiledSnippetInstance, sdk_runner._Instance)
    params = list(inspect.signature(sdk_runner._Instance._run_code).parameters)
    assert params == ["self", "code", "extra_globals"]
    source = inspect.getsource(sdk_runner._Instance._run_code)
    assert "exec(code, self.globals_and_locals, self.globals_and_locals)" in source
    assert isinstance(workflow_runner(), ClaimsSandboxedWorkflowRunner)


async def test_the_sdk_snippets_are_compiled_once_and_run_in_each_own_sandbox() -> None:
    from workflows.sandbox import _CompiledSnippetInstance

    keeping = KeepingRunner(restrictions=workflow_runner().restrictions)
    defn = workflow._Definition.must_from_class(ClaimWorkflow)
    keeping.prepare_workflow(defn)
    codes = dict(_CompiledSnippetInstance._codes)
    # the SDK's entry snippets: import the workflow, create the instance (and, in a worker,
    # activate and ask for serialization contexts); each one a compiled code object
    assert 2 <= len(codes) <= 8
    assert all(code.co_filename == "<string>" for code in codes.values())
    keeping.prepare_workflow(defn)
    # a second instance compiles nothing: the very same code objects
    assert _CompiledSnippetInstance._codes == codes
    assert all(_CompiledSnippetInstance._codes[k] is v for k, v in codes.items())
    first, second = keeping.kept
    assert isinstance(first, _CompiledSnippetInstance) and isinstance(second, _CompiledSnippetInstance)
    # ... executed into each instance's own globals: two sandboxes, two workflow classes
    one = first.globals_and_locals["__temporal_workflow_class"]  # type: ignore[attr-defined]
    two = second.globals_and_locals["__temporal_workflow_class"]  # type: ignore[attr-defined]
    assert one is not two and one.__name__ == two.__name__ == "ClaimWorkflow"


class RecordingCodec(PayloadCodec, WithSerializationContext):
    """Passes payloads through unchanged, noting the serialization context of each one."""

    def __init__(self, seen: list[tuple[str, ...]], context: SerializationContext | None = None) -> None:
        self.seen = seen
        self.context = context

    def with_context(self, context: SerializationContext) -> RecordingCodec:
        return RecordingCodec(self.seen, context)

    def _note(self, way: str, payloads: Sequence[Payload]) -> list[Payload]:
        c = self.context
        for p in payloads:
            self.seen.append(
                (
                    way,
                    type(c).__name__,
                    str(getattr(c, "workflow_id", "")).split("-")[0],
                    str(getattr(c, "activity_type", "")),
                    str(getattr(c, "is_local", "")),
                    p.data.decode(),
                )
            )
        return list(payloads)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self._note("encode", payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self._note("decode", payloads)


async def _contexts_of_a_probe_run(
    env: WorkflowEnvironment, runner: SandboxedWorkflowRunner
) -> tuple[str, list[tuple[str, ...]]]:
    seen: list[tuple[str, ...]] = []
    converter = DataConverter(payload_codec=RecordingCodec(seen))
    client = Client(**{**env.client.config(), "data_converter": converter})
    queue = new_task_queue()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ContextProbeWorkflow],
        activities=[shout],
        activity_executor=ThreadPoolExecutor(2),
        workflow_runner=runner,
    ):
        with env.auto_time_skipping_disabled():
            handle = await client.start_workflow(
                ContextProbeWorkflow.run, "ab", id=f"probe-{uuid.uuid4()}", task_queue=queue
            )
            assert await handle.execute_update(ContextProbeWorkflow.add, "cd") == 1
            result = await handle.result()
    return result, seen


async def test_payloads_get_the_same_serialization_context_as_under_the_sdk_s_runner(
    env: WorkflowEnvironment,
) -> None:
    # the project's runner answers the context question outside the sandbox: payload by payload,
    # the codec must see what it sees under the SDK's own sandboxed runner
    ours, seen_ours = await _contexts_of_a_probe_run(env, workflow_runner())
    sdk_runner = SandboxedWorkflowRunner(restrictions=sandbox_restrictions())
    sdk, seen_sdk = await _contexts_of_a_probe_run(env, sdk_runner)
    assert ours == sdk == "AB AB! cd"
    assert sorted(seen_ours) == sorted(seen_sdk)
    # and the contexts are the specific ones: the activity's (ordinary and local), the workflow's
    assert ("encode", "ActivitySerializationContext", "probe", "shout", "False", '"ab"') in seen_ours
    assert ("encode", "ActivitySerializationContext", "probe", "shout", "True", '"ab!"') in seen_ours
    assert ("decode", "ActivitySerializationContext", "probe", "shout", "False", '"AB"') in seen_ours
    assert ("encode", "WorkflowSerializationContext", "probe", "", "", '"AB AB! cd"') in seen_ours


async def test_both_context_questions_answer_as_the_sdk_s_sandboxed_call_does() -> None:
    from temporalio.api.enums.v1 import CommandType
    from temporalio.worker._command_aware_visitor import CommandInfo
    from temporalio.worker.workflow_sandbox._runner import _Instance as SdkInstance

    keeping = KeepingRunner(restrictions=workflow_runner().restrictions)
    keeping.prepare_workflow(workflow._Definition.must_from_class(ClaimWorkflow))
    (instance,) = keeping.kept
    asked = [
        None,
        CommandInfo(CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, 1),  # not pending: the workflow's
        CommandInfo(CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, 9),
    ]
    for info in asked:
        ours = instance.get_serialization_context(info)
        assert ours == SdkInstance.get_serialization_context(instance, info)  # type: ignore[arg-type]
        assert type(ours).__name__ == "WorkflowSerializationContext"
        assert ours.workflow_id == "sandbox-validate-workflow_id"  # type: ignore[union-attr]
        store = instance.get_external_store_context(info)
        assert store == SdkInstance.get_external_store_context(instance, info)  # type: ignore[arg-type]
        assert store.target is not None and store.target.id == "sandbox-validate-workflow_id"


class _ShadowInstance(_CompiledSnippetInstance):
    """Answers both context questions both ways, the project's and the SDK's sandboxed call,
    and keeps every difference (full equality, not a summary)."""

    calls: ClassVar[Counter[str]] = Counter()
    differences: ClassVar[list[tuple[object, object, object]]] = []

    def get_serialization_context(self, command_info: Any) -> Any:
        ours = super().get_serialization_context(command_info)
        sdk = SdkInstance.get_serialization_context(self, command_info)
        self.calls[type(ours).__name__] += 1
        if ours != sdk or type(ours) is not type(sdk):
            self.differences.append((command_info, ours, sdk))
        return ours

    def get_external_store_context(self, command_info: Any) -> Any:
        ours = super().get_external_store_context(command_info)
        sdk = SdkInstance.get_external_store_context(self, command_info)
        self.calls["external store"] += 1
        if ours != sdk:
            self.differences.append((command_info, ours, sdk))
        return ours


@dataclass(frozen=True)
class _ShadowRunner(ClaimsSandboxedWorkflowRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ShadowInstance(det, self.runner_class, self.restrictions)


async def test_every_context_answer_over_the_golden_histories_equals_the_sdk_s() -> None:
    # every payload of every golden history (this version's and the older ones) replayed, each
    # context question answered both ways and compared in full
    from temporalio.worker import Replayer

    from claims.audit import read_history

    golden = Path(__file__).resolve().parent / "golden"
    files = sorted(golden.glob("*.json")) + sorted(golden.glob("v*/*.json"))
    assert len(files) >= 12
    replayer = Replayer(
        workflows=[ClaimWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=_ShadowRunner(restrictions=workflow_runner().restrictions),
    )
    for path in files:
        history = await read_history(path.read_bytes(), str(path))
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (path.name, result.replay_failure)
    assert _ShadowInstance.differences == []
    # the answers compared include the activities' own contexts, not only the workflow's
    assert _ShadowInstance.calls["ActivitySerializationContext"] > 100
    assert _ShadowInstance.calls["WorkflowSerializationContext"] > 100
    assert _ShadowInstance.calls["external store"] > 100
