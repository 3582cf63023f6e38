"""The stages that run after polling, built once at start-up from the settings (heavy models load here)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from monitor.loop import Stage
from monitor.settings import Settings

logger = logging.getLogger(__name__)
ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "classifiers" / "artifacts"


def build_stages(settings: Settings, environ: Mapping[str, str]) -> list[Stage]:
    """classify → route → notify. Without a trained classifier nothing downstream can run."""
    if not (ARTIFACTS_DIR.is_dir() and any(ARTIFACTS_DIR.iterdir())):
        logger.warning("no trained classifier in %s: posts are stored but not classified (run.py train)", ARTIFACTS_DIR)
        return []
    from classifiers.flags import VipList
    from classifiers.pipeline import Classifier, PostInput
    from classifiers.stage import ClassifyStage
    from routing.jurisdictions import Jurisdictions
    from routing.stage import build_routing_stages

    vip = VipList(handles=settings.vip_handles, page_ids=settings.vip_page_ids)
    classifier = Classifier.load(ARTIFACTS_DIR, settings.data_dir / settings.city, vip)
    jurisdictions = Jurisdictions.load(settings.data_dir / settings.city)
    return [ClassifyStage(classifier, PostInput), *build_routing_stages(settings, jurisdictions, environ=environ)]
