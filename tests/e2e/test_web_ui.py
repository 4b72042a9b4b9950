"""The web UI as a new user meets it after `make up`: sign in, upload documents by drag and
drop, ask a question about them and open a citation, explore the entity graph, delete a
document, read the system page; at desktop and phone width, with the keyboard. Every test
fails on a console error or on a request that leaves 127.0.0.1.

Set SUTAZAI_TEST_SCREENSHOTS=docs/screenshots to refresh the screenshots in the docs."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import PHONE, Watch, chromium, watched_page
from tests.e2e.conftest import cli_stack
from tests.e2e.stack import CliStack

# Three short documents. SmolLM2 (temperature 0, fixed seed) reads these facts from them:
# Brightwater Analytics -acquired/employed-> Tidewell Labs, Brightwater Analytics -located_in->
# Gdansk, Jonas Berg -employed_at-> Tidewell Labs.
DOCS = {
    "brightwater.txt": "Brightwater Analytics acquired Tidewell Labs in 2021. "
                       "Brightwater Analytics employs 240 people.",
    "tidewell.txt": "Jonas Berg works at Tidewell Labs. Tidewell Labs employs 85 people.",
    "gdansk.txt": "Brightwater Analytics is headquartered in Gdansk. Gdansk is located in Poland.",
}
COLLECTION = "firms"
QUESTION = "How many more employees does Brightwater Analytics have than Tidewell Labs?"
LONG = 300_000  # ms: ingestion and answers run a 135M model on two cores


@pytest.fixture(scope="module")
def shares(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the stack's connectors may read (SUTAZAI_CONNECTOR_ROOTS)."""
    return tmp_path_factory.mktemp("shares")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shares: Path) -> Iterator[tuple[CliStack, str]]:
    with cli_stack(tmp_path_factory.mktemp("web"), env={"SUTAZAI_CONNECTOR_ROOTS": str(shares)}) as cli:
        yield cli, cli.create_key("admin")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def watch() -> Iterator[Watch]:
    seen = Watch()
    yield seen
    seen.assert_clean()


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SUTAZAI_TEST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Sign in with an API key instead").click()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Ask", exact=True)).to_be_visible()


@pytest.fixture
def page(stack: tuple[CliStack, str], browser: Browser, watch: Watch) -> Iterator[Page]:
    cli, key = stack
    signed_in = watched_page(browser, watch)
    sign_in(signed_in, cli.url, key)
    yield signed_in
    signed_in.context.close()


def drop_files(page: Page, files: dict[str, str]) -> None:
    """A real drop event carrying File objects, as when files are dragged from the desktop."""
    transfer = page.evaluate_handle("""(files) => {
        const dt = new DataTransfer();
        for (const [name, text] of files) dt.items.add(new File([text], name, { type: 'text/plain' }));
        return dt; }""", list(files.items()))
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": transfer})


@pytest.fixture(scope="module")
def corpus(stack: tuple[CliStack, str], browser: Browser) -> dict[str, str]:
    """The documents, uploaded through the Documents page by drag and drop into a new collection."""
    cli, key = stack
    watch = Watch()
    page = watched_page(browser, watch)
    sign_in(page, cli.url, key)
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("New collection").fill(COLLECTION)
    drop_files(page, DOCS)
    uploads = page.locator(".upload")
    expect(uploads).to_have_count(3)
    expect(page.locator(".upload.done")).to_have_count(3, timeout=LONG)
    for name in DOCS:  # searchable first ...
        expect(uploads.filter(has_text=name).locator(".upload-status")).to_have_text("searchable")
        expect(uploads.filter(has_text=name).locator("progress").first).to_have_attribute("value", "100")
    rows = page.locator("table.documents tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("table.documents .status.ready")).to_have_count(3)
    expect(page.locator(".upload.graph-done")).to_have_count(3, timeout=LONG)  # ... then read for the graph
    for name in DOCS:
        expect(uploads.filter(has_text=name).locator(".graph-status")).to_have_text("graph read")
    expect(page.locator("table.documents .status.graph-done")).to_have_count(3)
    shot(page, "documents")
    page.context.close()
    watch.assert_clean()
    return DOCS


def test_sign_in_with_an_api_key_that_is_never_kept_in_clear(stack: tuple[CliStack, str], browser: Browser,
                                                               watch: Watch) -> None:
    cli, key = stack
    watch.expected += ["status of 401", "status of 422"]  # the refused keys below, by design
    page = watched_page(browser, watch)
    page.goto(cli.url + "/")
    expect(page.get_by_role("heading", name="Sign in to SutazAI")).to_be_visible()
    shot(page, "sign-in")
    page.get_by_role("button", name="Sign in with an API key instead").click()
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("keys start with 'szk_'")
    page.get_by_label("API key").fill(key[:-4] + "AAAA")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("API key")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    stored = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}, document.cookie])")
    assert key not in stored and "szk_" not in stored and "szk_" not in page.url
    cookie = next(c for c in page.context.cookies() if c["name"] == "sutazai_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and "szk_" not in cookie["value"]

    page.reload()  # the session survives a reload without the key
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to SutazAI")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "sutazai_session"]
    page.context.close()


def test_upload_shows_progress_and_lists_documents_with_errors(stack: tuple[CliStack, str], corpus: dict[str, str],
                                                                 page: Page, watch: Watch) -> None:
    watch.expected.append("status of 415")  # the unsupported file below is refused, by design
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("Collection", exact=True).select_option(COLLECTION)
    expect(page.locator("table.documents tbody tr")).to_have_count(len(corpus))
    drop_files(page, {"brightwater.txt": corpus["brightwater.txt"]})  # the same bytes again
    expect(page.locator(".upload-status").first).to_have_text("already there, unchanged", timeout=LONG)
    page.locator("#file-picker").set_input_files(
        files=[{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}])
    failed = page.locator(".upload.failed .upload-status")
    expect(failed).to_contain_text("failed:")
    assert "tool.exe" in page.locator(".upload.failed").inner_text()
    expect(page.locator("table.documents tbody tr")).to_have_count(len(corpus))


def test_ask_streams_the_steps_and_cites_the_passages(stack: tuple[CliStack, str], corpus: dict[str, str],
                                                      page: Page) -> None:
    cli, key = stack
    page.get_by_label("Collection").select_option(COLLECTION)
    page.get_by_label("Question").fill(QUESTION)
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator(".steps .step")).not_to_have_count(0)  # the plan arrives before the answer
    answer = page.locator(".answer-text")
    expect(answer).to_contain_text("155", timeout=LONG)
    assert answer.inner_text().startswith("155")
    expect(page.locator(".steps .step.ok .tool").filter(has_text=re.compile("^calculator$"))).to_have_count(1)
    expect(page.locator(".steps .step.ok .tool").filter(has_text=re.compile("^extract_value$"))).to_have_count(2)
    expect(page.locator(".answer-card .badge")).to_contain_text("Confidence")
    shot(page, "ask")

    page.get_by_role("button", name=re.compile(r"^Source 2: tidewell\.txt")).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Tidewell Labs employs 85 people.")
    expect(dialog).to_contain_text("tidewell.txt")
    shot(page, "citation")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name="Not helpful").click()
    page.get_by_label("Comment").fill("Say the year of the acquisition too.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("your feedback was saved")).to_be_visible()
    trace_id = page.get_by_role("link", name="Full trace").get_attribute("href").rsplit("/", 1)[1]  # type: ignore[union-attr]
    stored = httpx.get(f"{cli.url}/api/learning/v1/feedback", params={"trace_id": trace_id},
                       headers={"Authorization": f"Bearer {key}"}).json()
    assert [(f["rating"], f["comment"]) for f in stored] == [("down", "Say the year of the acquisition too.")]

    steps = page.locator(".steps .step").count()
    page.get_by_role("link", name="Full trace").click()
    expect(page.get_by_role("heading", name=QUESTION)).to_be_visible()
    expect(page.locator("table.trace-steps tbody tr")).to_have_count(steps)
    shot(page, "trace")


def test_an_abstention_is_shown_plainly(corpus: dict[str, str], page: Page) -> None:
    page.get_by_label("Collection").select_option(COLLECTION)
    page.get_by_label("Question").fill("Who is the chief executive of Tidewell Labs?")
    page.get_by_role("button", name="Ask", exact=True).click()
    notice = page.locator(".abstained")
    expect(notice).to_contain_text("SutazAI did not answer.", timeout=LONG)
    expect(page.get_by_role("heading", name="Best attempt (not an answer)")).to_be_visible()


def test_a_correction_from_the_ask_page_and_its_review(stack: tuple[CliStack, str], corpus: dict[str, str],
                                                       page: Page) -> None:
    cli, key = stack
    page.get_by_label("Collection").select_option(COLLECTION)
    page.get_by_label("Question").fill("Who leads Tidewell Labs?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator(".answer-text")).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="Correct this answer…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("table.passages tbody tr").first).to_be_visible()
    dialog.get_by_role("button", name="Send correction").click()
    expect(dialog.get_by_role("alert")).to_have_text("Write the right answer first.")
    dialog.get_by_label("The right answer").fill("Mira Okafor leads Tidewell Labs.")
    dialog.get_by_label(re.compile(r"^wrong: ")).first.check()
    dialog.get_by_role("button", name="Send correction").click()
    # an admin's own correction is approved as it is made
    expect(page.locator("form.feedback .ok")).to_contain_text("Correction saved and approved")
    exemplars = httpx.get(f"{cli.url}/api/learning/v1/exemplars", headers={"Authorization": f"Bearer {key}"}).json()
    assert any(e["answer"] == "Mira Okafor leads Tidewell Labs." for e in exemplars)

    # a user's correction waits for review on the Evaluations page
    user = cli.create_key("user")
    auth = {"Authorization": f"Bearer {user}"}
    asked = httpx.post(f"{cli.url}/api/reasoning/v1/ask", headers=auth, timeout=600, json={
        "question": "When did Brightwater Analytics acquire Tidewell Labs?", "collection": COLLECTION}).json()
    made = httpx.post(f"{cli.url}/api/learning/v1/corrections", headers=auth, json={
        "trace_id": asked["trace_id"], "answer": "In 2021."})
    assert made.status_code == 201 and made.json()["status"] == "pending"
    page.get_by_role("link", name="Evaluations").click()
    review = page.locator("#review")
    expect(review.get_by_role("heading")).to_have_text("Corrections to review (1)")
    expect(review).to_contain_text("In 2021.")
    shot(page, "corrections")
    review.get_by_role("button", name="Approve").click()
    expect(review.get_by_role("heading")).to_have_text("Corrections to review (0)")
    assert httpx.get(f"{cli.url}/api/learning/v1/corrections", headers=auth).json()[0]["status"] == "approved"


def test_graph_explorer_expands_filters_and_shows_sources(corpus: dict[str, str], page: Page) -> None:
    page.get_by_role("link", name="Graph").click()
    page.get_by_label("Collection").select_option(COLLECTION)
    page.get_by_role("searchbox", name="Entity").fill("Brightwater Analytics")
    page.get_by_role("button", name="Search").click()
    canvas = page.locator(".graph-canvas")
    expect(canvas).to_have_attribute("data-nodes", "3")
    facts = page.locator("table.facts tbody tr")
    expect(facts.filter(has_text="Tidewell Labs").first).to_be_visible()
    expect(facts.filter(has_text="Jonas Berg")).to_have_count(0)

    page.get_by_role("button", name="Expand Tidewell Labs").first.click()  # a neighbour's neighbours
    expect(canvas).to_have_attribute("data-nodes", "4")
    expect(facts.filter(has_text="Jonas Berg")).to_have_count(1)
    shot(page, "graph")

    edge = page.evaluate("""() => { const cy = document.querySelector('.graph-canvas').cy;
        const e = cy.edges().filter((x) => x.data('relation') === 'located_in')[0];
        const box = cy.container().getBoundingClientRect(); const p = e.renderedMidpoint();
        return { x: box.left + p.x, y: box.top + p.y }; }""")
    page.mouse.click(edge["x"], edge["y"])  # a click on the drawn edge itself
    details = page.locator(".graph-details")
    expect(details).to_contain_text("located_in")
    expect(details.locator("blockquote")).to_have_text(corpus["gdansk.txt"])

    page.get_by_role("button", name="Source of Jonas Berg employed_at Tidewell Labs").click()
    expect(page.get_by_role("dialog")).to_contain_text("Jonas Berg works at Tidewell Labs.")
    page.keyboard.press("Escape")

    relation = page.get_by_role("checkbox", name="located_in")
    relation.uncheck()  # filter by relation
    expect(facts.filter(has_text="Gdansk")).to_have_count(0)
    expect(canvas).to_have_attribute("data-nodes", "3")
    relation.check()
    expect(facts.filter(has_text="Gdansk")).to_have_count(1)

    page.get_by_label("As of").fill("2001-01-01")  # before anything was known
    page.get_by_label("As of").dispatch_event("change")
    expect(page.get_by_text("No facts to show.")).to_be_visible()


def test_delete_asks_for_confirmation(stack: tuple[CliStack, str], corpus: dict[str, str], page: Page) -> None:
    cli, key = stack
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("Collection", exact=True).select_option(COLLECTION)
    rows = page.locator("table.documents tbody tr")
    expect(rows).to_have_count(len(corpus))
    page.get_by_role("button", name="Delete gdansk.txt").click()
    dialog = page.get_by_role("dialog", name="Delete document?")
    expect(dialog).to_contain_text("gdansk.txt")
    shot(page, "delete-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(len(corpus))
    page.get_by_role("button", name="Delete gdansk.txt").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(len(corpus) - 1)
    listed = httpx.get(f"{cli.url}/api/knowledge/v1/documents", params={"collection": COLLECTION},
                       headers={"Authorization": f"Bearer {key}"}).json()
    assert sorted(d["source"] for d in listed) == ["brightwater.txt", "tidewell.txt"]


def test_system_page_shows_services_backends_and_models(page: Page) -> None:
    page.get_by_role("link", name="System").click()
    expect(page.locator(".system-summary")).to_have_text(re.compile(r"All 6 services ready · version \d"))
    for service in ("identity", "reasoning", "knowledge", "learning", "metacognition", "web"):
        expect(page.get_by_role("region", name=f"{service} service")).to_contain_text("ready")
    knowledge = page.get_by_role("region", name="knowledge service")
    for backend in ("postgres", "redis", "graph", "search"):
        expect(knowledge).to_contain_text(backend)
    expect(page.locator("table").filter(has_text="SmolLM2")).to_be_visible()
    shot(page, "system")


def test_phone_width_and_keyboard_only(stack: tuple[CliStack, str], browser: Browser, watch: Watch) -> None:
    cli, key = stack
    page = watched_page(browser, watch, PHONE)
    page.goto(cli.url + "/")
    expect(page.get_by_label("User name")).to_be_focused()
    for _ in range(3):  # password, Sign in, then the switch to an API key
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    question = page.get_by_label("Question")
    expect(question).to_be_focused()
    page.keyboard.type("What is 12 * 12 + 1?")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".answer-text")).to_contain_text("145", timeout=LONG)
    shot(page, "ask-phone")
    for name in ("Documents", "Graph", "System"):
        page.get_by_role("link", name=name).focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_contain_text(name.replace("Graph", "Graph explorer"))
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} page scrolls sideways by {overflow}px at phone width"
    page.context.close()


def test_a_user_signs_in_by_name_and_loses_access_when_the_grant_is_withdrawn(
        stack: tuple[CliStack, str], corpus: dict[str, str], browser: Browser, watch: Watch) -> None:
    """As a new administrator would: create a user and a group with the CLI, grant the group a
    collection, sign in as the user in the browser, withdraw the grant, and see access end at once."""
    cli, _ = stack
    watch.expected += ["status of 401", "status of 403"]  # the wrong password and the withdrawn access, by design
    steps = ((("users", "create", "dana", "--password-stdin", "--name", "Dana"), "a long reader passphrase\n"),
             (("groups", "create", "readers"), None), (("groups", "add", "readers", "dana"), None),
             (("grants", "set", COLLECTION, "--group", "readers"), None))
    for args, stdin in steps:
        done = cli.run(*args, input=stdin)
        assert done.returncode == 0, done.stderr
    listed = cli.run("users", "list")
    assert "dana" in listed.stdout and f"{COLLECTION}: user" in listed.stdout and "readers" in listed.stdout

    page = watched_page(browser, watch)
    page.goto(cli.url + "/")
    page.get_by_label("User name").fill("dana")
    page.get_by_label("Password").fill("not the passphrase")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.get_by_label("Password").fill("a long reader passphrase")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("user:dana")
    status = f"() => fetch('/api/knowledge/v1/documents?collection={COLLECTION}').then(r => r.status)"
    assert page.evaluate(status) == 200

    revoked = cli.run("grants", "revoke", COLLECTION, "--group", "readers")
    assert revoked.returncode == 0, revoked.stderr
    # the same session: refused within the services' introspection cache (5 s by default, documented)
    deadline = time.monotonic() + 15
    while page.evaluate(status) != 403:
        assert time.monotonic() < deadline, "access did not end after the grant was withdrawn"
        time.sleep(0.5)
    audit = cli.run("audit", "export")
    assert '"action": "grant.revoke"' in audit.stdout and '"action": "user.sign_in"' in audit.stdout
    page.context.close()


def test_evaluations_page_runs_two_configurations_and_draws_the_comparison(
        stack: tuple[CliStack, str], browser: Browser, page: Page, tmp_path: Path) -> None:
    cli, key = stack
    suite = tmp_path / "arith-ui.jsonl"
    suite.write_text("".join(json.dumps({"id": f"q{n}", "question": f"What is {n + 12} * {n + 4}?",
                                         "answer": (n + 12) * (n + 4)}) + "\n" for n in range(3)))
    imported = cli.run("eval", "import", str(suite), extra=("--key", key))
    assert imported.returncode == 0, imported.stderr

    page.get_by_role("link", name="Evaluations").click()
    expect(page.get_by_role("heading", name="Evaluations", exact=True)).to_be_visible()
    expect(page.locator("form.start-run table")).to_contain_text("arith-ui")
    page.get_by_label("Suite", exact=True).select_option("arith-ui")
    page.get_by_label("Label").fill("pipeline")
    page.get_by_role("button", name="Start run").click()
    expect(page.locator(".form-status")).to_contain_text("Run pipeline started (3 cases)")
    page.get_by_label("Configuration").select_option("bare")
    expect(page.get_by_label("Model", exact=True)).to_be_visible()
    page.get_by_label("Label").fill("bare model")
    page.get_by_role("button", name="Start run").click()
    expect(page.locator(".form-status")).to_contain_text("Run bare model started")
    expect(page.locator("table.runs tbody tr")).to_have_count(2)
    expect(page.locator("table.runs .status.done")).to_have_count(2, timeout=LONG)  # the page follows the runs
    expect(page.locator("table.runs progress").first).to_have_attribute("value", "3")
    expect(page.locator("table.runs tbody tr").filter(has_text="pipeline").locator("td").nth(4)).to_have_text(
        re.compile(r"\d+\.\d% \[\d+\.\d%, \d+\.\d%\]"))  # accuracy with its interval

    page.get_by_label("A: pipeline").check()
    page.get_by_label("B: bare model").check()
    page.get_by_role("button", name="Compare A and B").click()
    expect(page).to_have_url(re.compile(r"#/evaluations/[0-9a-f-]{36}/[0-9a-f-]{36}$"))
    comparison = page.locator("#comparison")
    expect(comparison.locator("h2")).to_have_text("Comparison: pipeline (A) vs bare model (B)")
    expect(comparison.locator(".verdict")).to_have_text(re.compile(r"better|No difference shown"))
    expect(comparison.locator("table.contingency caption")).to_contain_text("3 cases both runs finished")
    chart = comparison.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", re.compile(r"Accuracy of A \(pipeline\) \d+\.\d%.*difference B − A"))
    expect(chart.locator("rect.bar-a")).to_have_count(1)
    expect(chart.locator("rect.bar-b")).to_have_count(1)
    expect(chart.locator("circle.diff")).to_have_count(1)
    shot(page, "evaluations")

    # a user without admin rights is not offered the page, and its API refuses them
    user = watched_page(browser, Watch())
    sign_in(user, cli.url, cli.create_key("user"))
    expect(user.get_by_role("link", name="Evaluations")).to_be_hidden()
    user.goto(cli.url + "/#/evaluations")
    expect(user.locator("#main .error").first).to_be_visible()
    user.context.close()


def test_calibration_page_draws_the_live_labels_and_explains_a_refused_fit(browser: Browser, page: Page,
                                                                          stack: tuple[CliStack, str],
                                                                          watch: Watch) -> None:
    # after the evaluation runs above, their cases are labels (the withheld answer scored too)
    cli, _ = stack
    watch.expected.append("status of 422")  # the fit refused below, by design
    page.get_by_role("link", name="Calibration").click()
    expect(page.get_by_role("heading", name="Calibration", exact=True)).to_be_visible()
    expect(page.locator("#main")).to_contain_text("The documented prior")
    sets = page.locator("table.calibration-sets")
    expect(sets.locator("tbody tr").filter(has_text="live, all labelled answers")).to_have_count(1, timeout=LONG)
    expect(sets.locator("tbody tr").filter(has_text="arith-ui")).to_have_count(1)
    reliability = page.locator("svg.reliability")
    expect(reliability).to_have_attribute("aria-label", re.compile(r"Reliability diagram\. live, all labelled answers: "
                                                                   r"ECE \d\.\d{3}, Brier \d\.\d{3}"))
    expect(reliability.locator("circle.point").first).to_be_visible()
    expect(page.locator("svg.risk-coverage polyline.curve")).to_have_count(2)  # live and the suite
    page.get_by_label("Target risk (share of wrong answers among those given)").fill("0.3")
    page.get_by_label("Target risk (share of wrong answers among those given)").press("Enter")
    expect(page.locator("table.calibration-sets thead")).to_contain_text("≤ 30.0% wrong")
    expect(page.locator("table.calibration-sets thead")).to_contain_text("ECE of the calibrator, held out")
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Export labels (CSV)").click()
    exported = Path(downloading.value.path()).read_text().splitlines()
    assert downloading.value.suggested_filename == "sutazai-labels.csv"
    assert exported[0].startswith("trace_id,source,suite,run_id,probability,calibrator,correct,assessed_at,")
    assert "agreement" in exported[0].split(",") and len(exported) > 1
    assert any(",arith-ui," in line for line in exported[1:])
    expect(page.locator("#main .form-status").first).to_contain_text("Exported")
    page.get_by_role("button", name="Fit a calibrator").click()  # a handful of labels: refused, and why
    expect(page.locator("#main .error").first).to_contain_text("needs at least 40", timeout=LONG)  # reads labels
    shot(page, "calibration")

    user = watched_page(browser, Watch())
    sign_in(user, cli.url, cli.create_key("user"))
    expect(user.get_by_role("link", name="Calibration")).to_be_hidden()
    user.goto(cli.url + "/#/calibration")
    expect(user.locator("#main .error").first).to_be_visible()
    user.context.close()


def test_monitors_and_proposals_pages(stack: tuple[CliStack, str], page: Page, watch: Watch) -> None:
    cli, key = stack
    watch.expected.append("status of 404")  # the retrieval proposal for a suite that does not exist, below
    page.get_by_role("link", name="Monitors").click()
    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
    readings = page.locator("table.monitor-readings")
    expect(readings.locator("tr[data-rule='abstention_rate']")).to_have_count(1)
    expect(readings.locator("tr[data-rule='confidence_drift'] .status")).to_have_text(
        re.compile("ok|firing|not enough data"))
    page.get_by_role("button", name="Pin the newest answers as the reference").click()
    expect(page.locator(".form-status")).to_contain_text("Drift is now measured against the answers from observation")
    shot(page, "monitors")

    with httpx.Client(base_url=cli.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as admin:
        for value in (0.4, 0.45):
            made = admin.post("/api/metacognition/v1/proposals", json={
                "kind": "abstain_below", "change": {"abstain_below": value}, "rationale": f"try {value}"})
            assert made.status_code == 201, made.text
            if value == 0.4:
                assert admin.post(f"/api/metacognition/v1/proposals/{made.json()['id']}/approve",
                                  json={"note": "first"}).status_code == 200
    page.get_by_role("link", name="Proposals").click()
    expect(page.get_by_role("heading", name="Proposals", exact=True)).to_be_visible()
    pending = page.locator("table.proposals tr.pending")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("abstain below 0.45")
    pending.get_by_role("button", name="Approve").click()  # no reason given: asked for one
    expect(page.locator(".form-status .error")).to_contain_text("Say why")
    pending.get_by_role("textbox").fill("answers more, same risk")
    pending.get_by_role("button", name="Approve").click()
    expect(page.locator(".form-status")).to_contain_text(re.compile(r"Applied as settings version \d+"))
    versions = page.locator("table.versions tbody tr")
    expect(versions.first).to_contain_text("answers more, same risk")
    expect(versions.first).to_contain_text("in force")
    expect(versions.first).to_contain_text("depth 4, keyword 1 / vector 1")  # the whole bundle, retrieval too
    versions.nth(1).get_by_role("button", name=re.compile(r"Restore \d+")).click()
    page.get_by_role("dialog").get_by_role("button", name="Restore").click()
    expect(page.locator(".form-status")).to_contain_text(re.compile(r"Version \d+ restored as version \d+"))
    expect(page.locator("table.versions tbody tr").first).to_contain_text("0.40")
    page.get_by_label("Suites to tune retrieval on (comma-separated)").fill("no-such-suite")
    page.get_by_role("button", name="Propose retrieval").click()
    expect(page.locator(".form-status .error")).to_contain_text("no suite 'no-such-suite'")
    shot(page, "proposals")


def test_connectors_page_connects_a_folder_and_shows_its_sync_and_errors(shares: Path, page: Page,
                                                                         watch: Watch) -> None:
    watch.expected.append("status of 422")  # the folder outside the allowed roots, below
    team = shares / "team"
    team.mkdir()
    (team / "rota.md").write_text("# Rota\n\nKai is on call in the first week of January.\n")
    (team / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    page.get_by_role("link", name="Connectors").click()
    expect(page.get_by_role("heading", name="Connectors", exact=True)).to_be_visible()
    expect(page.locator("table.connectors")).to_contain_text("No source is connected yet")
    page.get_by_label("Name").fill("team-share")
    page.get_by_label("Kind").select_option("folder")
    page.get_by_label("Folder").fill(str(team))
    page.get_by_label("Schedule").select_option("3600")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("form .form-status")).to_contain_text("Connected team-share")
    row = page.locator("table.connectors tr[data-connector='team-share']")
    expect(row.locator(".status")).to_have_text("done", timeout=LONG)
    expect(row).to_contain_text("1 added, 1 failed")
    row.get_by_role("button", name="Runs").click()
    expect(page.locator(".run-errors")).to_contain_text("scan.png")
    shot(page, "connectors")
    # a folder outside the allowed roots is refused with the reason
    page.get_by_label("Name").fill("etc")
    page.get_by_label("Folder").fill("/etc")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("form .form-status")).to_contain_text("outside the folders connectors may read")
