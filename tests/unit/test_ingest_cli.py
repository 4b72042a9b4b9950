"""`sutazai ingest` following its jobs when the service refuses, loses or delays a status check
(a fake transport at the HTTP boundary): no traceback, the file says why, the bar never says
"finished" over a failure."""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.progress import Progress

from sutazai.cli.ingest import Outcome, _finished, _follow


def test_a_refused_status_check_fails_that_file_and_the_others_go_on() -> None:
    answers = {"job-a": [httpx.Response(403, json={"detail": "not your collection"})],
               "job-b": [httpx.Response(503, json={"detail": "restarting"}),
                         httpx.Response(200, json={"state": "done", "percent": 100})]}

    def handler(request: httpx.Request) -> httpx.Response:
        queue = answers[request.url.path.rsplit("/", 1)[1]]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    outcomes = [Outcome(Path("a.txt"), "queued", job_id="job-a"), Outcome(Path("b.txt"), "queued", job_id="job-b")]
    with httpx.Client(base_url="http://sutazai", transport=httpx.MockTransport(handler)) as client, \
            Progress() as progress:
        task = progress.add_task("indexing", total=200, status="")
        _follow(client, outcomes, progress, task, poll_seconds=0.0, timeout=30)
        status = progress.tasks[0].fields["status"]
    a, b = outcomes
    assert a.state == "failed" and "not your collection" in a.detail
    assert b.state == "done"  # the 503 was asked again at the next poll
    assert "1 of 2 failed" in status and "finished" not in status


def test_the_bar_says_finished_only_when_nothing_failed() -> None:
    done = Outcome(Path("a"), "done", percent=100)
    assert _finished([done]) == "finished"
    assert "1 of 2 failed" in _finished([done, Outcome(Path("b"), "failed")])
