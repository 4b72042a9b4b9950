"""`sutazai ask`: follows the streamed steps of a question on stderr, then prints the answer,
its numbered citations and the confidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape

from sutazai.cli.client import CliError, problem_of
from sutazai.lib.contracts.reasoning import PREFIX as REASONING

ASK = f"{REASONING}/ask"


def events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a server-sent event stream."""
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind:
            yield kind, json.loads(line[6:])
            kind = None


def _step_line(step: dict[str, Any]) -> str:
    mark = {"ok": "[green]✓[/green]", "error": "[red]✗[/red]", "skipped": "[yellow]–[/yellow]"}[step["status"]]
    detail = f" [red]{escape(step['error'])}[/red]" if step["error"] else ""
    took = f"{step['latency_ms'] / 1000:.1f}s"
    return f"  {mark} {step['id']:<5} {step['tool']:<13} {escape(step['purpose'])} [dim]{took}[/dim]{detail}"


def stream(client: httpx.Client, body: dict[str, Any], console: Console) -> dict[str, Any]:
    """Ask with streaming, narrating each step; returns the answer event's data."""
    try:
        with client.stream("POST", ASK + "/stream", json=body) as response:
            if response.status_code != 200:
                response.read()
                raise CliError(problem_of(response))
            ran, plans, drafted = 0, 0, ""
            with console.status("planning…") as status:
                for kind, data in events(response):
                    if kind == "plan":
                        count, plans = len(data["steps"]), plans + 1
                        what = "plan" if plans == 1 else "plan revised"
                        console.print(f"[bold]{what}[/bold] ({data['strategy']}): {count} step{'s' * (count != 1)} "
                                      "planned", highlight=False)
                    elif kind == "step" and data["id"] != "plan":
                        ran += 1
                        console.print(_step_line(data), highlight=False)
                        status.update(f"working… ({ran} step{'s' * (ran != 1)} done)")
                    elif kind == "draft":  # the answer as it is written, before it is checked
                        drafted += data["delta"]
                        status.update(f"writing… {escape(' '.join(drafted.split())[-70:])}")
                    elif kind == "answer":
                        console.print(f"[dim]{ran} step{'s' * (ran != 1)} ran[/dim]", highlight=False)
                        return data
                    elif kind == "error":
                        raise CliError(f"{data['detail']} (trace {data.get('trace_id', '?')})")
    except httpx.ConnectError as exc:
        raise CliError(f"SutazAI is not reachable at {client.base_url} ({exc}); is it running? "
                       "(`sutazai status`)") from exc
    raise CliError("the stream ended without an answer")


def render(answer: dict[str, Any], console: Console) -> None:
    confidence = answer["confidence"]
    colour = "green" if confidence >= 0.75 else "yellow" if confidence >= 0.5 else "red"
    console.print()
    if answer["abstained"]:
        console.print(f"[bold yellow]No answer:[/bold yellow] {escape(answer['reason'])}", highlight=False)
    else:
        console.print(escape(answer["answer"]), highlight=False, soft_wrap=True)
        if answer.get("grounding") == "model":
            console.print("[yellow]From the model's general knowledge — not from your documents, which do not "
                          "cover this.[/yellow]", highlight=False)
        elif answer.get("grounding") == "computed":
            console.print("[dim]Computed from the numbers in the question (the trace shows how).[/dim]",
                          highlight=False)
    if answer["citations"]:
        console.print("\n[bold]Sources[/bold]")
        for i, citation in enumerate(answer["citations"], start=1):
            text = " ".join(citation["text"].split())
            source = escape(citation.get("source") or citation["document_id"])
            console.print(f"  \\[{i}] [cyan]{source}[/cyan]: {escape(text[:300])}", highlight=False, soft_wrap=True)
    console.print(f"\nconfidence [{colour}]{confidence:.2f}[/{colour}]  ·  trace {answer['trace_id']}",
                  highlight=False)
