"""Planning a question as one call, `Planner.plan`: recall what memory holds for it, the rules'
plan by the question's shape, the retrieval steps run first (what the main search finds decides
the rest: nothing about it, a table that answers it, a general question the documents are not
about), and the model's plan for a multi-part or chained question the rules cannot plan."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sutazai.lib.errors import DependencyUnavailable, Forbidden, NotFound
from sutazai.reasoning.executor import Executor, StepRecord
from sutazai.reasoning.model_planning import ModelPlanner, wants_model_plan
from sutazai.reasoning.planning import (
    MAIN_SEARCH,
    Plan,
    PlanInvalid,
    PlannedStep,
    PlanRequest,
    chosen_tool,
    remembered_plan,
    rules_plan,
    settled,
    tool_plan,
    wants_sources,
    word_problem,
)
from sutazai.reasoning.steps import result_of
from sutazai.reasoning.tools import Tool
from sutazai.reasoning.tools.base import Remembered
from sutazai.reasoning.tools.knowledge import SearchOutput
from sutazai.reasoning.tools.memory import RecallOutput, remembered

RECALL = PlannedStep("m1", "recall", {}, purpose="recall approved answers to close questions and passages marked "
                                                 "wrong for them")


@dataclass
class Planned:
    """A plan, the steps that already ran while planning it (recall, first retrievals), and what
    memory recalled for the question (which later steps read)."""

    plan: Plan
    done: dict[str, StepRecord] = field(default_factory=dict)
    memory: Remembered = field(default_factory=Remembered)


class Planner:
    def __init__(self, *, tools: dict[str, Tool], model_planner: ModelPlanner | None = None) -> None:
        self._tools, self._model_planner = tools, model_planner

    async def plan(self, request: PlanRequest, executor: Executor, *, consult: bool, named: bool,
                   held: dict[str, Remembered]) -> Planned:
        """The plan for `request`. `consult`: the asker's credential may read memory and the
        collection; `named`: the collection was named, so it must exist; `held` receives what
        memory recalled as soon as it is known (the executor's steps read it from there)."""
        tool = chosen_tool(request.question, request.tools)
        if tool is not None:  # the question asks to use a registered tool: its answer is the tool's
            return Planned(plan=tool_plan(request, tool))
        recall_step = replace(RECALL, input={"question": request.question})
        remembers = wants_sources(request.question) or word_problem(request.question)
        recall = await self._recall(executor, recall_step) if consult and remembers else None
        recalled = result_of(recall, RecallOutput)
        held["held"] = remembered(recalled)
        found: dict[str, StepRecord] = {}
        if recalled is not None and recalled.exemplars:  # an approved answer to this very question
            plan = remembered_plan(request, [p.model_dump() for p in held["held"].passages])
        else:
            plan = rules_plan(request)
            if request.has_knowledge:
                found = await self._retrieve_first(executor, plan, named=named)
                main = result_of(found.get(MAIN_SEARCH), SearchOutput)
                if not (main and main.passages):  # nothing in the collection about it: plan without it
                    plan = rules_plan(replace(request, has_knowledge=False), preface=plan.first_wave())
                else:
                    plan = settled(plan, request, main.passages)
            plan = await self._model_plan(plan, request, found)
        if recall is not None:  # the recall ran before anything else: it opens the plan and the trace
            plan.steps.insert(0, recall_step)
            found = {recall_step.id: recall, **found}
        return Planned(plan=plan, done=found, memory=held["held"])

    async def _model_plan(self, plan: Plan, request: PlanRequest, found: dict[str, StepRecord]) -> Plan:
        """The model's plan instead of the rules' catch-all one, for a multi-part question that
        reads the collection, when the planner is active; the rules' plan when the model's is
        invalid (the reason is kept in the plan's notes)."""
        if not (request.has_knowledge and found and self._model_planner is not None and plan.strategy != "table"
                and wants_model_plan(request.question, catch_all=plan.catch_all) and self._model_planner.active()):
            return plan
        main = result_of(found.get(MAIN_SEARCH), SearchOutput)
        if not (main and main.passages):
            return plan
        proposed, note = await self._model_planner.propose(request.question, preface=plan.first_wave(),
                                                           retrieval=request.retrieval)
        if proposed is not None:
            try:
                proposed.validate(self._tools)
            except PlanInvalid as exc:
                proposed, note = None, f"{note}; but it does not validate ({exc}): planned by rules"
        chosen = proposed if proposed is not None else plan
        chosen.notes.append(note)
        return chosen

    async def _recall(self, executor: Executor, step: PlannedStep) -> StepRecord | None:
        """What memory holds for the question (when the recall tool is configured). A failed
        recall is recorded and the question is answered without memory."""
        if step.tool not in self._tools:
            return None
        return (await executor.prefetch([step]))[step.id]

    @staticmethod
    async def _retrieve_first(executor: Executor, plan: Plan, *, named: bool) -> dict[str, StepRecord]:
        """Run the knowledge plan's retrieval steps (all that depend on nothing, at once) before
        settling the plan: whether the main search finds anything decides whether the plan reads
        the collection. A collection the knowledge service does not know (when one was named)
        or refuses ends the request with its 404 or 403."""
        found = await executor.prefetch(plan.first_wave(), fatal=(NotFound, Forbidden))
        main = found.get(MAIN_SEARCH)
        if named and main is not None and main.status == "error":
            raise DependencyUnavailable(f"the knowledge service cannot be reached to search: {main.error}")
        return found
