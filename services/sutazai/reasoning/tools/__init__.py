"""The tools a plan may use, by name."""

from __future__ import annotations

from sutazai.lib.limits import Sandbox
from sutazai.lib.models.manifest import model_suits
from sutazai.reasoning.tools.answering import Synthesize, Verify
from sutazai.reasoning.tools.base import Tool, ToolContext, ToolFailed, Usage
from sutazai.reasoning.tools.calculator import Calculator, Compare
from sutazai.reasoning.tools.dates import DateCalculator
from sutazai.reasoning.tools.knowledge import GraphLookup, GraphPath, KnowledgeCalls, KnowledgeSearch
from sutazai.reasoning.tools.memory import Recall
from sutazai.reasoning.tools.modeltools import AskModel, ExtractValue, Formulate, Router
from sutazai.reasoning.tools.program import Program
from sutazai.reasoning.tools.table import ReadTable

__all__ = ["Tool", "ToolContext", "ToolFailed", "Usage", "build_tools"]


def build_tools(*, knowledge: KnowledgeCalls, route: Router, verification: str = "auto",
                sandbox: Sandbox | None = None, recall: Recall | None = None) -> dict[str, Tool]:
    """Every tool, keyed by the name plans use. `verification` (auto, on, off): whether claims the
    words cannot back are put to the model routed for "verify" (auto: when it suits verifying).
    `recall` (procedural memory) runs first for every question that may use sources."""

    def verify_with_model() -> bool:
        if verification in ("on", "off"):
            return verification == "on"
        return model_suits(route("verify").chat_model, "verify")

    tools: list[Tool] = [
        KnowledgeSearch(knowledge), GraphLookup(knowledge), GraphPath(knowledge), Calculator(sandbox), Compare(),
        ReadTable(), DateCalculator(), Formulate(route), Program(route, sandbox), ExtractValue(route), AskModel(route),
        Synthesize(route),
        Verify(route, use_model=verify_with_model), *([recall] if recall is not None else []),
    ]
    return {tool.name: tool for tool in tools}
