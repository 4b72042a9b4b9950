"""The "model + passages" baseline of the two-document questions, rescored in the question's own
answer form (issue 30's audit): "Which company has more employees, A or B?" asks for a name, but
the bench's prompt asked every question for a number, so the model's chains of thought concluded
"Therefore, B has more employees … The answer is 6619" and were scored wrong on the number. Here
such an answer is scored by the company it names: its first sentence's if that names only one,
else its conclusion's (the first of the two companies named in the last sentence that says which
has more, or failing that the boxed answer). The same rule for every system.
The other three forms ask for a number and keep their scores. Nothing is re-asked: the committed
answers of `bench/results/reasoning-<model>.json` are read again.

    .venv/bin/python bench/two_documents_rescore.py --out bench/results/two-documents-rescored.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "services"))

from sutazai.lib.stats import wilson  # noqa: E402

WHICH = re.compile(r"^Which company has more employees, (?P<a>.+?) or (?P<b>.+?)\?$")
SYSTEMS = ("bare", "model_with_passages", "pipeline")


def named(answer: str, a: str, b: str) -> str | None:
    """The company the answer names: the one its first sentence names if it names only one (an
    answer that starts with the answer, as the product's rule reads it); else its conclusion's:
    in the last sentence saying which has more (or greater/larger), the one of the two named
    first; else the one in the boxed answer."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", answer) if s.strip()]
    first = [c for c in (a, b) if sentences and c in sentences[0]]
    if len(first) == 1:
        return first[0]
    for sentence in reversed(sentences):
        if re.search(r"\b(more|greater|larger|higher)\b", sentence):
            at = {c: sentence.find(c) for c in (a, b) if c in sentence}
            if at:
                return min(at, key=lambda c: at[c])
    boxed = re.findall(r"\\boxed\{([^}]*)\}", answer)
    return next((c for c in (a, b) if boxed and c in boxed[-1]), None)


def rescore(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    for row in rows:
        form = WHICH.match(row["question"])
        correct = bool(row["correct"]) if not isinstance(row["correct"], str) else row["correct"] == "True"
        if form:
            said = named(row["answer"], form["a"], form["b"])
            correct = not row.get("abstained") and said == row["expected"]
            out.append({"question": row["question"], "expected": row["expected"], "named": said,
                        "scored_before": row["correct"], "correct": correct})
        else:
            out.append({"question": row["question"], "correct": correct})
    right = sum(r["correct"] for r in out)
    which = [r for r in out if "named" in r]
    return {"n": len(out), "right": right, "accuracy": round(right / len(out), 3),
            "accuracy_95ci": [round(x, 3) for x in wilson(right, len(out))],
            "which_company_right": sum(r["correct"] for r in which), "which_company_cases": len(which),
            "which_company_rows": which}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "two-documents-rescored.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"command": " ".join(["python", *sys.argv]), "rule": __doc__.split("\n\n")[0]}
    for path in sorted((ROOT / "results").glob("reasoning-*.json")):
        two = json.loads(path.read_text()).get("two_documents")
        if not two:
            continue
        model = path.stem.removeprefix("reasoning-")
        results[model] = {system: {"as_published": {k: two[system].get(k) for k in ("n", "accuracy")},
                                   "rescored": rescore(two["rows"][system])}
                          for system in SYSTEMS if system in two.get("rows", {})}
        for system, r in results[model].items():
            s = r["rescored"]
            print(f"{model:22} {system:20} published {r['as_published']['accuracy']:.3f} → rescored "
                  f"{s['accuracy']:.3f} {s['accuracy_95ci']} (which company: {s['which_company_right']} of "
                  f"{s['which_company_cases']})")
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
