"""The OpenAI-compatible endpoints, driven by the official `openai` Python client."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import httpx
import jsonschema
import openai
import pytest

from tests.integration.conftest import Platform
from tests.integration.knowledge_helpers import auth, ingest_text


@pytest.fixture
def client(platform: Platform) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{platform.url}/v1", api_key=platform.admin_key, timeout=300,
                       max_retries=0) as opened:
        yield opened


def test_models_lists_the_pipeline_and_the_local_model(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "sutazai" and any(i.startswith("SmolLM2") for i in ids[1:])


def test_pipeline_completion_carries_the_answer_and_the_trace(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="sutazai", messages=[{"role": "user", "content": "What is 12 * (3 + 4)?"}])
    assert completion.choices[0].message.content.startswith("84")
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra["sutazai"]
    # the calibrated confidence (the prior's 1.0 unless a calibrator was fitted earlier in the session)
    assert 0.5 <= extra["confidence"] <= 1.0 and extra["abstained"] is False and extra["trace_id"]


def test_pipeline_completion_streams(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="sutazai", stream=True, messages=[{"role": "user", "content": "What is 2^8?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("256") and chunks[-1].choices[0].finish_reason == "stop"


def test_the_local_model_answers_directly_streaming_and_not(client: openai.OpenAI) -> None:
    model = next(m.id for m in client.models.list() if m.id != "sutazai")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]
    plain = client.chat.completions.create(model=model, messages=messages, max_tokens=16, seed=1)
    assert plain.choices[0].message.content.strip() and plain.usage.completion_tokens > 0
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=model, messages=messages, max_tokens=16, seed=1, stream=True))
    assert streamed == plain.choices[0].message.content


def test_errors_reach_the_client_clearly(client: openai.OpenAI, platform: Platform) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist; available: sutazai"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.UnprocessableEntityError, match="at least one user message"):
        client.chat.completions.create(model="sutazai", messages=[{"role": "system", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError, match="stream_draft"):
        client.chat.completions.create(model="sutazai", messages=[{"role": "user", "content": "hi"}], stream=True,
                                       extra_body={"stream_draft": "maybe"})
    with openai.OpenAI(base_url=f"{platform.url}/v1", api_key="szk_nope_nope", max_retries=0) as stranger, \
            pytest.raises(openai.AuthenticationError):
        stranger.models.list()


def test_models_retrieve_each_listed_model_and_404_for_others(client: openai.OpenAI) -> None:
    for listed in client.models.list():
        assert client.models.retrieve(listed.id).id == listed.id
    assert "multilingual-e5-small" in [m.id for m in client.models.list()]
    with pytest.raises(openai.NotFoundError, match="does not exist; available"):
        client.models.retrieve("gpt-9")


def test_the_pipeline_streams_its_steps_as_they_happen_then_the_answer_and_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="sutazai", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "What is 6 * 7?"}])
    chunks = list(stream)
    events = [(c.model_extra or {}).get("sutazai", {}).get("event") for c in chunks]
    assert "plan" in events and "step" in events  # the documented extension: steps before the answer
    first_text = next(i for i, c in enumerate(chunks) if c.choices and c.choices[0].delta.content)
    assert events.index("step") < first_text
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("42")
    finished = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finished] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # include_usage: the last chunk
    usage = chunks[-1].usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def unmarked(text: str) -> str:
    return " ".join(re.sub(r"\s*\[(?:\d+(?:,\s*\d+)*|unsupported)\]", "", text).split())


def test_a_document_answer_streams_token_by_token_before_it_is_checked(client: openai.OpenAI,
                                                                       platform: Platform) -> None:
    collection = f"oa-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as http:
        ingest_text(http, "Orvane Systems is a maker of marine sensors. Orvane Systems is based in Tallinn, "
                    "Estonia, and was founded in 1998 by Mari Kask.", graph=False, collection=collection,
                    source="orvane.txt")
    question = [{"role": "user", "content": "Who founded Orvane Systems?"}]
    chunks = list(client.chat.completions.create(model="sutazai", stream=True, messages=question,
                                                 extra_body={"collection": collection}))
    events = [(c.model_extra or {}).get("sutazai", {}).get("event") for c in chunks]
    steps = [(c.model_extra or {})["sutazai"]["data"] for c, e in zip(chunks, events, strict=True) if e == "step"]
    texts = [i for i, c in enumerate(chunks) if c.choices and c.choices[0].delta.content]
    verified_at = next(i for i, c in enumerate(chunks) if events[i] == "step"
                       and (c.model_extra or {})["sutazai"]["data"]["tool"] == "verify")
    drafted = [i for i in texts if i < verified_at]
    assert len(drafted) >= 2, "the answer's tokens come as the model writes them, before the check"
    assert any(s["tool"] == "synthesize" for s in steps)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    extra = final.model_extra["sutazai"]
    draft = "".join(chunks[i].choices[0].delta.content for i in drafted)
    rest = "".join(chunks[i].choices[0].delta.content for i in texts if i > verified_at)
    if extra["draft_kept"]:  # the sources follow; the checked text (with citation marks) is in the extension
        assert not extra["abstained"] and (rest == "" or rest.startswith("\n\nSources:\n[1] orvane.txt: "))
        assert unmarked(extra["answer"]) == unmarked(draft)
    else:  # withdrawn: said so, then the checked reply in full
        assert rest.startswith("\n\n[withdrawn after checking]\n\n") and extra["answer"] in rest
    whole = client.chat.completions.create(model="sutazai", stream=True, messages=question,
                                           extra_body={"collection": collection, "stream_draft": False})
    checked_only = list(whole)
    first_text = next(i for i, c in enumerate(checked_only) if c.choices and c.choices[0].delta.content)
    checked_events = [(c.model_extra or {}).get("sutazai", {}).get("event") for c in checked_only]
    assert max(i for i, e in enumerate(checked_events) if e == "step") < first_text  # only after checking


def test_the_local_model_stream_ends_with_length_when_cut_and_reports_usage(client: openai.OpenAI) -> None:
    model = next(m.id for m in client.models.list() if m.id.startswith("SmolLM2"))
    messages = [{"role": "user", "content": "Count from one to twenty in words."}]
    plain = client.chat.completions.create(model=model, messages=messages, max_tokens=4, seed=2)
    assert plain.choices[0].finish_reason == "length" and plain.usage.completion_tokens == 4
    chunks = list(client.chat.completions.create(model=model, messages=messages, max_tokens=4, seed=2, stream=True,
                                                 stream_options={"include_usage": True}))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == plain.choices[0].message.content
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (plain.usage.prompt_tokens, plain.usage.completion_tokens)


def test_json_mode_and_json_schema_constrain_the_reply(client: openai.OpenAI) -> None:
    model = next(m.id for m in client.models.list() if m.id.startswith("SmolLM2"))
    messages = [{"role": "user", "content": "Give the capital of France and its population as JSON."}]
    loose = client.chat.completions.create(model=model, messages=messages, max_tokens=60, seed=1,
                                           response_format={"type": "json_object"})
    assert isinstance(json.loads(loose.choices[0].message.content), dict)
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
                                               "population": {"type": "integer"}},
              "required": ["city", "population"], "additionalProperties": False}
    for stream in (False, True):
        made = client.chat.completions.create(
            model=model, messages=messages, max_tokens=60, seed=1, stream=stream,
            response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}})
        pieces = [c.choices[0].delta.content for c in made if c.choices and c.choices[0].delta.content] \
            if stream else [made.choices[0].message.content]
        jsonschema.validate(json.loads("".join(pieces)), schema)
        assert not stream or len(pieces) > 4  # token by token under the grammar, not replayed whole
    cut = list(client.chat.completions.create(
        model=model, messages=messages, max_tokens=5, seed=1, stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}))
    assert [c.choices[0].finish_reason for c in cut if c.choices and c.choices[0].finish_reason] == ["length"]
    with pytest.raises(openai.UnprocessableEntityError, match="JSON schema is not valid"):
        client.chat.completions.create(model=model, messages=messages, response_format={
            "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}})
    with pytest.raises(openai.UnprocessableEntityError, match="tools and response_format apply to the raw models"):
        client.chat.completions.create(model="sutazai", messages=messages, response_format={"type": "json_object"})


def test_tools_are_called_with_arguments_that_fit_their_schema(client: openai.OpenAI) -> None:
    model = next(m.id for m in client.models.list() if m.id.startswith("SmolLM2"))
    weather = {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}},
                       "required": ["city"], "additionalProperties": False}}}
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    called = client.chat.completions.create(model=model, messages=messages, tools=[weather], tool_choice="required",
                                            max_tokens=60, seed=3)
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), weather["function"]["parameters"])
    follow = [*messages, choice.message.model_dump(exclude_none=True),
              {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"}]
    answered = client.chat.completions.create(model=model, messages=follow, max_tokens=30, seed=3)
    assert answered.choices[0].message.content
    streamed = list(client.chat.completions.create(model=model, messages=messages, tools=[weather], stream=True,
                                                   tool_choice={"type": "function",
                                                                "function": {"name": "get_weather"}},
                                                   max_tokens=60, seed=3))
    calls = [tc for c in streamed if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls and calls[0].function.name == "get_weather"
    assert [c.choices[0].finish_reason for c in streamed if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    with pytest.raises(openai.UnprocessableEntityError, match="not among the tools"):
        client.chat.completions.create(model=model, messages=messages, tools=[weather],
                                       tool_choice={"type": "function", "function": {"name": "other"}})


def test_embeddings_come_from_the_bundled_embedder(client: openai.OpenAI) -> None:
    made = client.embeddings.create(model="multilingual-e5-small",
                                    input=["Paris is the capital of France.", "Photosynthesis in plants."])
    vectors = [d.embedding for d in made.data]
    assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-3 for v in vectors)
    assert made.usage.prompt_tokens > 0 and made.usage.total_tokens == made.usage.prompt_tokens
    floats = client.embeddings.create(model="multilingual-e5-small", input="Paris is the capital of France.",
                                      encoding_format="float")
    assert max(abs(a - b) for a, b in zip(floats.data[0].embedding, vectors[0], strict=True)) < 1e-6
    with pytest.raises(openai.UnprocessableEntityError, match="must have some text"):
        client.embeddings.create(model="multilingual-e5-small", input=["  "])
    with pytest.raises(openai.NotFoundError, match="embedding model"):
        client.embeddings.create(model="text-embedding-3-small", input="x")
