"""The worker's sandbox runner (worker.DirectContextRunner) asks each payload's serialization
context of the workflow instance directly: a payload codec that sees the contexts gets exactly
what Temporal's own sandbox gives it, for a workflow's input, its activities, its local
activities and its result (the benchmark's bare workflow, whose module imports nothing else)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, _runner

from bench.bare import BareWorkflow, noop
from tests.support.helpers import start_time_skipping
from worker import DirectContextRunner, workflow_runner


class SeeingCodec(PayloadCodec, WithSerializationContext):
    """An identity codec that notes the context of every payload it encodes or decodes."""

    def __init__(self, seen: list, context: SerializationContext | None = None) -> None:
        self.seen, self.context = seen, context

    def with_context(self, context: SerializationContext) -> SeeingCodec:
        return SeeingCodec(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend(("encode", _shown(self.context)) for _ in payloads)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend(("decode", _shown(self.context)) for _ in payloads)
        return list(payloads)


def _shown(context: SerializationContext | None) -> str:
    if context is None:
        return "none"
    fields = dataclasses.asdict(context)
    fields.pop("workflow_id", None)  # differs per run; the kind and the rest must agree
    fields.pop("activity_id", None)
    return f"{type(context).__name__}{sorted(fields.items())}"


async def contexts(runner: SandboxedWorkflowRunner) -> list:
    env = await start_time_skipping()
    seen: list = []
    try:
        config = env.client.config()
        config["data_converter"] = dataclasses.replace(
            pydantic_data_converter, payload_codec=SeeingCodec(seen)
        )
        client = Client(**config)
        queue = "runner-contexts"  # the same for both runs: contexts name it
        async with Worker(
            client,
            task_queue=queue,
            workflows=[BareWorkflow],  # its module imports nothing but temporalio
            activities=[noop],
            workflow_runner=runner,
        ):
            done = await client.execute_workflow(
                BareWorkflow.run,
                args=[[[2, [], 1], [1, [], 2]], -1],  # activities, and local ones, in two steps
                id=f"runner-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )
        assert done == 6
    finally:
        await env.shutdown()
    return seen


async def test_the_direct_runner_gives_the_codec_the_contexts_the_sandbox_gives(
    monkeypatch,
) -> None:
    snippets: list[str] = []
    run_code = _runner._Instance._run_code

    def counted(self, code: str, **extra) -> None:
        snippets.append(code)
        run_code(self, code, **extra)

    monkeypatch.setattr(_runner._Instance, "_run_code", counted)
    assert isinstance(workflow_runner(), DirectContextRunner)
    direct = await contexts(workflow_runner())
    asked_directly = sum("serialization_context" in code for code in snippets)
    sandbox = await contexts(SandboxedWorkflowRunner())
    asked_in_sandbox = sum("serialization_context" in code for code in snippets) - asked_directly
    assert asked_directly == 0 and asked_in_sandbox > 0  # no snippet run per payload
    assert direct and sorted(direct) == sorted(sandbox)
    kinds = {shown.split("[")[0] for _, shown in direct}
    assert {"WorkflowSerializationContext", "ActivitySerializationContext"} <= kinds
