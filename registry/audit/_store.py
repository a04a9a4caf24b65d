"""The maps a strategies run computed, kept in `out/maps/` as they come, so a rerun computes only the rest.

Evaluate's rows, with the map itself (a list of GRID × GRID floats) beside them; a part is written every
`flush_every` rows, as Evaluate's `RowStore` does, so a stopped run keeps what it finished.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from registry.evaluation._extras import require

__all__ = ["MAP_COLUMNS", "MapStore"]

MAP_COLUMNS = {
    "image": "string",
    "backbone": "string",
    "method": "string",
    "label": "string",
    "target": "int64",
    "target_label": "string",
    "predicted_label": "string",
    "probability": "float64",
    "energy": "float64",
    "settings": "string",
    "error": "string",
}


class MapStore:
    """Map rows already in `out/maps/` and new ones written there in parts (None: kept in memory only)."""

    def __init__(self, out: str | Path | None, flush_every: int = 256):
        self.folder = Path(out) / "maps" if out is not None else None
        self.flush_every = flush_every
        self.old: list[dict[str, Any]] = []
        self.new: list[dict[str, Any]] = []
        self._unflushed = 0
        self._run = uuid.uuid4().hex[:8]
        self._parts = 0
        if self.folder is not None and self.folder.is_dir():
            pq = require("pyarrow.parquet")
            for path in sorted(self.folder.glob("*.parquet")):
                self.old.extend(row for row in pq.read_table(path).to_pylist() if not row.get("error"))

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        kept = [{**{name: row.get(name) for name in MAP_COLUMNS}, "map": row.get("map")} for row in rows]
        self.new.extend(kept)
        self._unflushed += len(kept)
        if self._unflushed >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.folder is None or not self._unflushed:
            return
        pa, pq = require("pyarrow"), require("pyarrow.parquet")
        fields = [(name, getattr(pa, kind)()) for name, kind in MAP_COLUMNS.items()]
        schema = pa.schema([*fields, ("map", pa.list_(pa.float32()))])
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f"{self._run}-{self._parts:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(self.new[-self._unflushed :], schema=schema), part)
        self._parts += 1
        self._unflushed = 0

    def rows(self) -> list[dict[str, Any]]:
        """Every row, an old one replaced by a new row of the same image, backbone, method and settings."""
        merged = {_key(row): row for row in self.old}
        merged.update({_key(row): row for row in self.new})
        return list(merged.values())


def _key(row: dict[str, Any]) -> tuple:
    return (row["image"], row["backbone"], row["method"], row["label"], row["settings"])
