"""The ``[retention]`` section of the deployment's settings: how long personal data and raw payloads are kept
before ``run.py purge`` removes them (see :mod:`models.retention` for exactly what goes)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from models.retention import Retention

Days = Annotated[int, Field(ge=1, le=36_500)]


class _Retention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    raw_payload_days: Days = Retention.raw_payload_days
    personal_data_days: Days = Retention.personal_data_days
    audit_detail_days: Days = Retention.audit_detail_days
    session_days: Days = Retention.session_days
    batch_size: Annotated[int, Field(gt=0, le=10_000)] = Retention.batch_size


def retention_settings(section: _Retention) -> Retention:
    return Retention(**section.model_dump())
