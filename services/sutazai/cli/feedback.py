"""`sutazai feedback`: rate and correct answers, review corrections, and see the exemplars that
approved corrections and well-rated answers became (the pipeline recalls them for the same
question asked in other words)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sutazai.cli.evals import ApiKey, DataDir, Url, _client, _fail
from sutazai.cli.evals import id_arg as _id
from sutazai.cli.evals import send as _send
from sutazai.lib.contracts.learning import PREFIX as LEARNING

feedback_app = typer.Typer(no_args_is_help=True, help="Rate and correct answers, review corrections (admins), "
                                                      "list and retire exemplars.")
out = Console()
err = Console(stderr=True)



@feedback_app.command("rate")
def rate(
    trace: Annotated[str, typer.Argument(help="The trace id of the answer (printed by `sutazai ask`).")],
    verdict: Annotated[str, typer.Argument(help="up or down.")],
    comment: Annotated[str | None, typer.Option(help="What was right or wrong.")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Rate an answer you were given. Rated up by an admin of its collection (or by two people,
    nobody down), it becomes an exemplar; a down-rating retires it."""
    if verdict not in ("up", "down"):
        raise _fail("the verdict is up or down")
    with _client(url, key, data_dir) as client:
        _send(client, "POST", f"{LEARNING}/feedback", (200, 201),
              json={"trace_id": _id(trace, "trace"), "rating": verdict, "comment": comment})
    out.print(f"rated {verdict}", highlight=False)


@feedback_app.command("correct")
def correct(
    trace: Annotated[str, typer.Argument(help="The trace id of the answer (printed by `sutazai ask`).")],
    answer: Annotated[str, typer.Option("--answer", help="The right answer.")],
    passage: Annotated[str | None, typer.Option(help="The chunk id of a passage that shows it "
                                                     "(`sutazai traces show` lists them).")] = None,
    wrong: Annotated[list[str] | None, typer.Option(help="The chunk id of a passage that was wrong for this "
                                                         "question; repeatable.")] = None,
    note: Annotated[str | None, typer.Option(help="Why, for the reviewer.")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Correct an answer you were given. An admin of the collection reviews it (an admin's own
    correction is approved at once); approved, the pipeline uses it for the same question."""
    with _client(url, key, data_dir) as client:
        made = _send(client, "POST", f"{LEARNING}/corrections", (201,), json={
            "trace_id": _id(trace, "trace"), "answer": answer, "passage": passage, "wrong_passages": wrong or [],
            "note": note})
    state = "approved: the pipeline uses it from the next question on" if made["status"] == "approved" else \
        "pending: an admin of the collection reviews it (`sutazai feedback approve`)"
    out.print(f"correction {made['id']} {state}", highlight=False)


@feedback_app.command("corrections")
def corrections(
    status: Annotated[str | None, typer.Option(help="pending, approved or rejected.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Corrections, newest first: an admin sees those in its collections, anyone else their own."""
    if status not in (None, "pending", "approved", "rejected"):
        raise _fail("--status is pending, approved or rejected")
    params: dict[str, Any] = {"limit": limit} | ({"status": status} if status else {})
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{LEARNING}/corrections", (200,), params=params)
    table = Table("correction", "status", "collection", "question", "was", "corrected to", "by")
    for r in rows:
        table.add_row(r["id"], r["status"], r["collection"], r["question"][:60], r["given_answer"][:40],
                      r["answer"][:40], r["subject"])
    out.print(table)


def _review(correction: str, approve: bool, note: str | None, key: str | None, url: str | None,
            data_dir: Any) -> None:
    action = "approve" if approve else "reject"
    with _client(url, key, data_dir) as client:
        row = _send(client, "POST", f"{LEARNING}/corrections/{_id(correction, 'correction')}/{action}",
                    (200,), json={"note": note})
    out.print(f"correction {row['id']} {row['status']}", highlight=False)


@feedback_app.command("approve")
def approve(correction: str, note: Annotated[str | None, typer.Option(help="Why.")] = None,
            key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Approve a pending correction (admins of its collection): it becomes an exemplar and its
    wrong passages are demoted for the same question."""
    _review(correction, True, note, key, url, data_dir)


@feedback_app.command("reject")
def reject(correction: str, note: Annotated[str | None, typer.Option(help="Why.")] = None,
           key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Reject a pending correction (admins of its collection)."""
    _review(correction, False, note, key, url, data_dir)


@feedback_app.command("exemplars")
def exemplars(retired: Annotated[bool, typer.Option("--retired", help="Include retired ones.")] = False,
              key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """The exemplars in the collections you administer."""
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{LEARNING}/exemplars", (200,), params={"include_retired": retired})
    table = Table("exemplar", "collection", "question", "answer", "from", "active")
    for r in rows:
        table.add_row(r["id"], r["collection"], r["question"][:70], r["answer"][:50], r["origin"],
                      "yes" if r["active"] else "retired")
    out.print(table)


@feedback_app.command("retire")
def retire(exemplar: str, key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Retire an exemplar: the pipeline no longer uses it."""
    with _client(url, key, data_dir) as client:
        _send(client, "DELETE", f"{LEARNING}/exemplars/{_id(exemplar, 'exemplar')}", (204,))
    out.print(f"exemplar {exemplar} retired", highlight=False)
