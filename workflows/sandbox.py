"""The workflow sandbox every worker and replayer of the engine runs: one runner, one passthrough list.

Temporal runs each new workflow run (and each replay) in a fresh sandbox: the workflow's own
modules are imported again, so no global state leaks from one claim into another, and the
modules the workflow sees stand behind proxies that refuse non-deterministic calls
(``datetime.now()``, ``random``, file and network access). Modules marked *passthrough* are not
imported again: the sandbox hands the workflow the worker's own copy.

What a new ``ClaimWorkflow`` run imports afresh (measured, see ``bench/README.md``): only
``workflows``, ``workflows.claim``, ``workflows.sla`` and ``workflows.short_steps``; the models
and activities are already passed through where the workflow modules import them
(``workflow.unsafe.imports_passed_through()``), the standard library, ``temporalio`` and pydantic
by the SDK's defaults. :data:`PASSTHROUGH_MODULES` says the same once more for the whole
worker, so an import added later outside such a block is not re-imported per claim either.

The workflow modules themselves stay sandboxed on purpose: passing them through would take
the determinism guard off the very code it is there for (a passed-through module sees the real
``datetime``, not the sandbox's proxy). What the sandbox still paid for them was compiling
their source again for every run when no bytecode file can be read (``PYTHONDONTWRITEBYTECODE``
as on this project's machines and in many container images, or a read-only source tree):
two thirds of a new run's sandbox cost. :func:`workflow_runner` installs
:class:`CompiledOnceFinder`, which keeps the compiled code of those modules in memory
exactly as a ``.pyc`` beside the source would (invalidated by the source's modification time
and size); the modules are still executed afresh in each sandbox.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, SourceFileLoader
from types import CodeType, ModuleType
from typing import Any, ClassVar

from temporalio.converter import SerializationContext, StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# The SDK's sandboxed instance class is private; the tests check it still has the one method
# overridden here (tests/test_sandbox.py), so an SDK upgrade that moves it fails there first.
from temporalio.worker.workflow_sandbox._runner import _Instance as _SdkInstance

PASSTHROUGH_MODULES: tuple[str, ...] = (
    "claims.models",
    "claims.errors",
    "claims.infra.search",
    "activities",
)
"""The project's modules the sandbox hands through (each with its submodules), and why each is safe:

- ``claims.models``: pydantic models (frozen), enums, constants and pure functions
  (``rule_for``, ``refusal``, ``projection_seq``); imports only pydantic and the standard
  library. Its one module-level mapping, the step registry ``STEP_RULES`` (and its index by
  input type), is built at import and never written afterwards.
- ``claims.errors``: exception classes, no state.
- ``claims.infra.search``: the search-attribute keys (immutable ``SearchAttributeKey``
  values) the workflow upserts; its one function, registering them with a server, is never
  called from workflow code.
- ``activities``: the activity classes, referenced by the workflow only as method names for
  ``workflow.execute_activity_method`` and for their input/result models; their code (the
  store, the rules engine, the calendar) runs in the worker's activity threads, never in the
  sandbox, and their state lives in the instances ``worker.build_worker`` creates, not in the
  modules. ``rules.engine`` (durable_rules, a C extension with global state) is imported by
  ``activities.rules`` outside the sandbox for that reason: the sandbox never loads it.

Pydantic, ``pydantic_core``, ``annotated_types``, ``temporalio`` and the standard library are
passed through by ``SandboxRestrictions.default`` already.
"""

SANDBOXED_PACKAGES: tuple[str, ...] = ("workflows",)
"""Packages the sandbox imports afresh for every run: the workflow code, kept under the guard."""


class CompiledOnceLoader(SourceFileLoader):
    """A source loader that compiles a module's source once per process and file version.

    The same code object is executed into each new module, which is what loading a ``.pyc``
    does; a changed source file (modification time or size) is compiled again.
    """

    _codes: dict[tuple[str, float, int], CodeType] = {}
    _lock = threading.Lock()

    def get_code(self, fullname: str) -> CodeType:
        """The compiled code of ``fullname``'s source file, compiled on its first import.

        Raises:
            ImportError, OSError, SyntaxError: as ``SourceFileLoader.get_code`` (unreadable or
                invalid source).
        """
        stats = self.path_stats(self.path)
        key = (self.path, stats["mtime"], stats["size"])
        code = self._codes.get(key)
        if code is None:
            code = super().get_code(fullname)
            if code is None:  # pragma: no cover - a source loader always returns code
                raise ImportError(f"no code for {fullname}", name=fullname)
            with self._lock:
                self._codes[key] = code
        return code


class CompiledOnceFinder(MetaPathFinder):
    """Finds the modules of ``packages`` as the other finders do; loads them with :class:`CompiledOnceLoader`.

    Only modules found as plain source files get the caching loader; anything else (a
    namespace package, an extension, a zip import) is returned as the other finders found it.
    """

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = tuple(packages)

    def covers(self, fullname: str) -> bool:
        """Whether ``fullname`` is one of the packages or inside one."""
        return any(fullname == p or fullname.startswith(p + ".") for p in self.packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """The spec the next finder on ``sys.meta_path`` gives, with the caching loader.

        Returns None for a module outside ``packages`` (the other finders then look as usual).
        """
        if not self.covers(fullname):
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, CompiledOnceFinder):
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if type(loader) is SourceFileLoader:
            spec.loader = CompiledOnceLoader(loader.name, loader.path)
        return spec


_install_lock = threading.Lock()


def install_compiled_once(packages: Sequence[str] = SANDBOXED_PACKAGES) -> CompiledOnceFinder:
    """Put a :class:`CompiledOnceFinder` for ``packages`` first on ``sys.meta_path`` (once per process).

    Returns:
        the finder in force (the one installed earlier, when called again with the same packages).
    """
    with _install_lock:
        for finder in sys.meta_path:
            if isinstance(finder, CompiledOnceFinder) and finder.packages == tuple(packages):
                return finder
        finder = CompiledOnceFinder(packages)
        sys.meta_path.insert(0, finder)
        return finder


def sandbox_restrictions() -> SandboxRestrictions:
    """The SDK's default restrictions with :data:`PASSTHROUGH_MODULES` added."""
    return SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)


class _CompiledSnippetInstance(_SdkInstance):
    """The SDK's sandboxed workflow instance, executing its fixed code snippets from compiled code
    and answering the converter's serialization-context question without entering the sandbox.

    The SDK enters the sandbox by ``exec`` of a source string (``_Instance._run_code``): to
    create the instance, for every activation, and to ask the instance for a payload's
    serialization context, once per payload visited, several visits per activation. ``exec``
    of a string compiles it every time: about 17 µs a call here, 9 % of the worker's busy time
    (README, "Performance", "The sandbox's entry points"). The snippets are a handful of
    constant strings, so each is compiled once per process and the code object executed
    instead, which is what ``exec`` of the string does after compiling it: same globals, same
    sandbox, same restrictions.
    """

    _codes: ClassVar[dict[str, CodeType]] = {}

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        """The serialization context of a payload of ``command_info`` (None: the workflow's own).

        The SDK asks once per payload of every activation and completion, and enters the sandbox
        for it (the snippet above, with the sandbox's importer applied): 10 % of the worker's busy
        time once the snippet is compiled. What it runs in there is a lookup in the instance's
        own fields (its info, its pending activities and child workflows) that imports nothing
        and reads no restricted module, so this asks the in-sandbox object directly, on the same
        thread; the answer equals the one the sandboxed call returns (``tests/test_sandbox.py``
        compares every answer with the SDK's over the golden histories, and both runners'
        contexts payload by payload on a probe workflow). Before the instance exists it falls
        back to the SDK's way.
        """
        in_sandbox = self.globals_and_locals.get("__temporal_in_sandbox")
        if in_sandbox is None:
            return super().get_serialization_context(command_info)
        return in_sandbox.get_serialization_context(command_info)  # type: ignore[no-any-return]

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        """Where an external payload store would keep a payload of ``command_info``; asked like
        :meth:`get_serialization_context` (once per payload of every completion), answered the
        same way: a lookup in the instance's fields, without entering the sandbox."""
        in_sandbox = self.globals_and_locals.get("__temporal_in_sandbox")
        if in_sandbox is None:
            return super().get_external_store_context(command_info)
        return in_sandbox.get_external_store_context(command_info)  # type: ignore[no-any-return]

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        compiled = self._codes.get(code)
        if compiled is None:
            compiled = compile(code, "<string>", "exec", dont_inherit=True)
            if len(self._codes) < _MAX_SNIPPETS:  # the SDK's snippets are constants; bound it anyway
                self._codes[code] = compiled
        super()._run_code(compiled, **extra_globals)  # type: ignore[arg-type]  # exec takes code too


_MAX_SNIPPETS = 64
"""At most this many distinct snippets kept compiled (the SDK 1.35 has five)."""


@dataclass(frozen=True)
class ClaimsSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner whose instances run the SDK's snippets compiled once
    (:class:`_CompiledSnippetInstance`); restrictions and passthrough as given."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        """A sandboxed instance of the workflow in ``det`` (see the class)."""
        return _CompiledSnippetInstance(det, self.runner_class, self.restrictions)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandboxed runner of the engine's workers and replayers (``worker.build_worker``,
    ``claims.audit.replay.new_replayer``, the benchmarks and the tests through them).

    The default restrictions (every non-deterministic standard-library call refused) plus
    :data:`PASSTHROUGH_MODULES`; installs :func:`install_compiled_once` for the workflow
    modules, which stay sandboxed; its instances compile the SDK's entry snippets once
    (:class:`ClaimsSandboxedWorkflowRunner`).
    """
    install_compiled_once()
    return ClaimsSandboxedWorkflowRunner(restrictions=sandbox_restrictions())
