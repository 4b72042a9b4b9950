"""Metacognition service settings."""

from functools import lru_cache

from pydantic import Field

from sutazai.lib.settings import CommonSettings


class MetacognitionSettings(CommonSettings):
    service_name: str = "metacognition"
    learning_url: str = Field(default="http://127.0.0.1:8080",
                              description="where the learning service answers (labelled outcomes for calibration)")
    reasoning_url: str = Field(default="http://127.0.0.1:8080",
                               description="where the reasoning service answers (applying model route proposals)")
    knowledge_url: str = Field(default="http://127.0.0.1:8080",
                               description="where the knowledge service answers (searches tuning retrieval proposals)")
    abstain_below: float = Field(default=0.5, ge=0.0, le=1.0, description=(
        "answers whose calibrated probability of being right is below this abstain, unless the question's "
        "options set their own threshold; an applied proposal (a settings version) takes its place"))
    target_risk: float = Field(default=0.1, gt=0.0, lt=1.0, description=(
        "the share of wrong answers among those given that the suggested abstention threshold aims for"))
    calibration_min_labels: int = Field(default=40, ge=10, description=(
        "labelled outcomes needed before a calibrator is fitted; until then the documented prior is used"))
    shipped_calibrators: bool = Field(default=True, description=(
        "until a calibrator is fitted on this site's labels, assess an answer with the calibrator shipped with the "
        "model that served it (models/manifest.toml, digest-checked); off: the documented prior"))
    inprocess_worker: bool = Field(default=True, description="run the monitors' consumer inside the service "
                                   "process (the embedded stack); Compose runs `sutazai worker metacognition`")
    monitor_window: int = Field(default=50, ge=5, le=10_000, description="answers in the monitors' recent window")
    monitor_reference: int = Field(default=200, ge=5, le=100_000, description=(
        "answers before the recent window that drift is measured against"))
    monitor_min_observations: int = Field(default=20, ge=2, description="answers a rule needs before it can fire")
    alert_abstention_rate: float = Field(default=0.5, ge=0.0, le=1.0, description=(
        "share of abstentions in the recent window that raises an alert"))
    alert_negative_feedback_rate: float = Field(default=0.3, ge=0.0, le=1.0, description=(
        "share of ratings down in the recent window that raises an alert"))
    alert_confidence_psi: float = Field(default=0.25, ge=0.0, description=(
        "population stability index of recent confidences against the reference window that raises an alert"))
    alert_latency_p95_s: float = Field(default=120.0, gt=0.0, description=(
        "95th percentile latency (seconds) of a step kind in the recent window that raises an alert"))
    alert_tool_error_rate: float = Field(default=0.2, ge=0.0, le=1.0, description=(
        "share of failed tool steps in the recent window that raises an alert"))
    alert_empty_retrieval_rate: float = Field(default=0.5, ge=0.0, le=1.0, description=(
        "share of answers whose searches found nothing that raises an alert"))
    worker_claim_idle_ms: int = Field(default=30_000, ge=1000, description=(
        "a monitor event unacknowledged this long is taken over by another worker"))


@lru_cache
def get_settings() -> MetacognitionSettings:
    return MetacognitionSettings()
