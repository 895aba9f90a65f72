"""Load the national conformance resources into the record store (``ece profiles install``), so CodeSystem,
ValueSet and StructureDefinition are readable and searchable like any resource.

Goes through ``ece.loader`` (the store's write path): each resource has a fixed id, so a second run finds
them unchanged and writes nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ece import fhirjson
from ece.loader import LoadSummary, load_paths
from fhir_profiles import catalog


async def install_definitions(engine: AsyncEngine) -> LoadSummary:
    summary = LoadSummary()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "perfiles-nacionales.ndjson"
        # The catalog's resources, with the configured canonical base already applied.
        path.write_bytes(b"\n".join(fhirjson.dumps(r) for r in catalog.all_resources()) + b"\n")
        await load_paths(engine, [path], summary, lambda _n: None)
    return summary
