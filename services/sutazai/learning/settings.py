"""Learning service settings."""

from functools import lru_cache

from pydantic import Field

from sutazai.lib.settings import CommonSettings


class LearningSettings(CommonSettings):
    service_name: str = "learning"
    reasoning_url: str = Field(default="http://127.0.0.1:8080",
                               description="where the reasoning service answers (trace access, evaluation runs)")
    knowledge_url: str = Field(default="http://127.0.0.1:8080",
                               description="where the knowledge service answers (the collections a run asks in)")
    metacognition_url: str = Field(default="http://127.0.0.1:8080",
                                   description="where the metacognition service answers (routing proposals)")
    inprocess_worker: bool = Field(default=True, description="run the evaluation worker inside the service "
                                   "(embedded stack); Compose runs `sutazai worker learning`")
    worker_claim_idle_ms: int = Field(default=120_000, ge=100)


@lru_cache
def get_settings() -> LearningSettings:
    return LearningSettings()
