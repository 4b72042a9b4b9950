"""Metacognition service settings."""

from functools import lru_cache

from pydantic import Field

from sutazai.lib.settings import CommonSettings


class MetacognitionSettings(CommonSettings):
    service_name: str = "metacognition"
    learning_url: str = Field(default="http://127.0.0.1:8080",
                              description="where the learning service answers (labelled outcomes for calibration)")
    abstain_below: float = Field(default=0.5, ge=0.0, le=1.0, description=(
        "answers whose calibrated probability of being right is below this abstain, unless the question's "
        "options set their own threshold"))
    target_risk: float = Field(default=0.1, gt=0.0, lt=1.0, description=(
        "the share of wrong answers among those given that the suggested abstention threshold aims for"))
    calibration_min_labels: int = Field(default=40, ge=10, description=(
        "labelled outcomes needed before a calibrator is fitted; until then the documented prior is used"))


@lru_cache
def get_settings() -> MetacognitionSettings:
    return MetacognitionSettings()
