"""The tools a plan may use, by name."""

from __future__ import annotations

from sutazai.reasoning.tools.answering import Synthesize, Verify
from sutazai.reasoning.tools.base import Tool, ToolContext, ToolFailed, Usage
from sutazai.reasoning.tools.calculator import Calculator, Compare
from sutazai.reasoning.tools.dates import DateCalculator
from sutazai.reasoning.tools.knowledge import GraphLookup, GraphPath, KnowledgeClient, KnowledgeSearch
from sutazai.reasoning.tools.modeltools import AskModel, ExtractValue, Formulate, Router

__all__ = ["Tool", "ToolContext", "ToolFailed", "Usage", "build_tools"]


def build_tools(*, knowledge: KnowledgeClient, route: Router) -> dict[str, Tool]:
    """Every tool, keyed by the name plans use."""
    tools: list[Tool] = [
        KnowledgeSearch(knowledge), GraphLookup(knowledge), GraphPath(knowledge), Calculator(), Compare(),
        DateCalculator(), Formulate(route), ExtractValue(route), AskModel(route), Synthesize(route),
        Verify(),
    ]
    return {tool.name: tool for tool in tools}
