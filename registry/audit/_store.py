"""The maps a strategies run computed, kept in `out/maps/` as they come, so a rerun computes only the rest.

Evaluate's `RowStore` with fewer columns and the map itself (a list of GRID × GRID floats): a part is written
every `flush_every` rows, so a stopped run keeps what it finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from registry.evaluation._extras import require
from registry.evaluation._results import RowStore

__all__ = ["MAP_COLUMNS", "MapStore"]

MAP_COLUMNS = {
    "image": "string",
    "backbone": "string",
    "method": "string",
    "label": "string",
    "cell": "int64",
    "target": "int64",
    "target_label": "string",
    "predicted_label": "string",
    "probability": "float64",
    "energy": "float64",
    "settings": "string",
    "error": "string",
    "map": "float32 list",
}


class MapStore(RowStore):
    """Map rows already in `out/maps/` and new ones written there in parts (None: kept in memory only)."""

    columns = MAP_COLUMNS

    def __init__(self, out: str | Path | None, flush_every: int = 256):
        super().__init__(Path(out) / "maps" if out is not None else None, flush_every)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        super().add([{name: row.get(name) for name in MAP_COLUMNS} for row in rows])

    def table(self, rows: Sequence[dict[str, Any]]):
        pa = require("pyarrow")
        fields = [
            (name, pa.list_(pa.float32()) if name == "map" else getattr(pa, kind)())
            for name, kind in MAP_COLUMNS.items()
        ]
        return pa.Table.from_pylist(list(rows), schema=pa.schema(fields))
