"""The OpenAI-compatible endpoints, driven by the official `openai` Python client."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.integration.conftest import Platform


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
    with openai.OpenAI(base_url=f"{platform.url}/v1", api_key="szk_nope_nope", max_retries=0) as stranger, \
            pytest.raises(openai.AuthenticationError):
        stranger.models.list()
