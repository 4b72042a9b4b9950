"""Calibration plots for `sutazai meta calibration`, drawn with matplotlib (no display needed):
the reliability diagram (accuracy per probability bin with 95% intervals against the diagonal,
and how many answers fell in each bin) and the risk-coverage curve (the share of wrong answers
among those given, as the threshold lowers, with the target risk and the chosen threshold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _save(fig: Any, out_dir: Path, name: str) -> list[Path]:
    """The figure as NAME.png and NAME.svg, then closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    paths = [out_dir / f"{name}.{suffix}" for suffix in ("png", "svg")]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def calibration_plots(reports: dict[str, dict[str, Any]], out_dir: Path, *, target_risk: float) -> list[Path]:
    """Write reliability.png/.svg and risk-coverage.png/.svg for the named reports; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    colours = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"]
    written: list[Path] = []

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 7.2), height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="#9ca3af", label="perfectly calibrated")
    width = 0.8 / max(1, len(reports)) / 10
    for i, (name, report) in enumerate(reports.items()):
        colour = colours[i % len(colours)]
        bins = report["reliability"]
        xs = [b["confidence"] for b in bins]
        ys = [b["accuracy"] for b in bins]
        # the accuracy is rounded to 4 places and its interval is not: clamp the bar lengths at 0
        errors = [[max(0.0, y - b["accuracy_ci"][0]) for y, b in zip(ys, bins, strict=True)],
                  [max(0.0, b["accuracy_ci"][1] - y) for y, b in zip(ys, bins, strict=True)]]
        top.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, color=colour,
                     label=f"{name}: ECE {report['ece']:.3f}, Brier {report['brier']:.3f} (n={report['cases']})")
        bottom.bar([b["lower"] + 0.05 + (i - (len(reports) - 1) / 2) * width for b in bins],
                   [b["count"] for b in bins], width=width, color=colour)
    top.set(ylabel="share right", xlim=(0, 1), ylim=(0, 1.02), title="Reliability: stated probability vs. outcome")
    top.legend(fontsize=8, loc="upper left")
    top.grid(alpha=0.3)
    bottom.set(xlabel="probability that the answer is right", ylabel="answers")
    bottom.grid(alpha=0.3)
    written += _save(fig, out_dir, "reliability")

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for i, (name, report) in enumerate(reports.items()):
        colour = colours[i % len(colours)]
        curve = report["risk_coverage"]
        ax.plot([p["coverage"] for p in curve], [p["risk"] for p in curve], marker=".", color=colour, label=name)
        chosen = report.get("threshold")
        if chosen:
            ax.scatter([chosen["coverage"]], [chosen["risk"]], s=80, color=colour, edgecolors="black", zorder=3)
            ax.annotate(f"answer from {chosen['threshold']:.2f}", (chosen["coverage"], chosen["risk"]),
                        textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.axhline(target_risk, linestyle="--", color="#9ca3af", label=f"target risk {target_risk:.0%}")
    ax.set(xlabel="coverage (share of questions answered)", ylabel="risk (share of answers that are wrong)",
           xlim=(0, 1.02), ylim=(0, 1), title="Risk-coverage: what abstaining buys")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    written += _save(fig, out_dir, "risk-coverage")
    return written
