"""The default complaint taxonomy (``shared/taxonomy.md``) and which station layer acts on each category."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    TRAFFIC_VIOLATION = "traffic_violation"
    TRAFFIC_CONGESTION = "traffic_congestion"
    ROAD_ACCIDENT = "road_accident"
    ROAD_INFRASTRUCTURE = "road_infrastructure"
    OFFICER_MISCONDUCT = "officer_misconduct"
    THEFT = "theft"
    VIOLENCE = "violence"
    PUBLIC_NUISANCE = "public_nuisance"
    CYBERCRIME = "cybercrime"
    WOMEN_SAFETY = "women_safety"
    MISSING_PERSON = "missing_person"
    CIVIC_REFERRAL = "civic_referral"
    APPRECIATION = "appreciation"
    INFORMATION_REQUEST = "information_request"
    OTHER = "other"


class Layer(StrEnum):
    TRAFFIC = "traffic"
    LAW_ORDER = "law_order"


TRAFFIC_CATEGORIES = frozenset(
    {
        Category.TRAFFIC_VIOLATION,
        Category.TRAFFIC_CONGESTION,
        Category.ROAD_ACCIDENT,
        Category.ROAD_INFRASTRUCTURE,
    }
)
LAW_ORDER_CATEGORIES = frozenset(
    {
        Category.THEFT,
        Category.VIOLENCE,
        Category.PUBLIC_NUISANCE,
        Category.CYBERCRIME,
        Category.WOMEN_SAFETY,
        Category.MISSING_PERSON,
    }
)
def layer_for(category: Category, *, misconduct_layer: Layer | None = None) -> Layer | None:
    """The station layer responsible for a category, or None where no station acts.

    ``officer_misconduct`` is judged where it happened: the caller passes the layer of the accused
    station when the text says (a traffic constable → traffic); law-and-order otherwise.
    """
    if category in TRAFFIC_CATEGORIES:
        return Layer.TRAFFIC
    if category in LAW_ORDER_CATEGORIES:
        return Layer.LAW_ORDER
    if category is Category.OFFICER_MISCONDUCT:
        return misconduct_layer or Layer.LAW_ORDER
    return None
