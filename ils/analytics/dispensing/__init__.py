"""The AI dispensing assistant: clinical intents from notes, the lab's manufacturing outcomes, the
lens catalog and the Good/Better/Best recommender. Pure: no I/O, no clock, no global state.

Entry points: ``parse_request`` + ``recommend`` (recommender), ``CatalogIndex``/``upsert``/
``search`` (catalog), ``ManufacturingModel.fit`` (manufacturing), ``extract_intents``/
``read_note`` (intents, notes).
"""

from ils.analytics.dispensing.catalog import CatalogIndex, Product, parse_product, search, upsert
from ils.analytics.dispensing.intents import Intent, extract_intents, structured_intents
from ils.analytics.dispensing.manufacturing import JobOutcome, ManufacturingModel
from ils.analytics.dispensing.notes import read_note
from ils.analytics.dispensing.recommender import DispensingRequest, parse_request, recommend

__all__ = [
    "CatalogIndex",
    "DispensingRequest",
    "Intent",
    "JobOutcome",
    "ManufacturingModel",
    "Product",
    "extract_intents",
    "parse_product",
    "parse_request",
    "read_note",
    "recommend",
    "search",
    "structured_intents",
    "upsert",
]
