"""The build manifest: what went in (files, sha256, rows, drops by reason) and what came out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tradeflows.io import sha256_file, write_json


@dataclass
class Manifest:
    """Collects inputs, outputs, row counts and drops of one build; ``write`` saves JSON."""

    root: Path
    settings: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _name(self, path: str | Path) -> str:
        """Path relative to the project root; a file outside it by its name only
        (``external/<name>``): no absolute path in the manifest."""
        path = Path(path).absolute()  # not resolve(): data/raw may be a symbolic link
        try:
            return path.relative_to(self.root.absolute()).as_posix()
        except ValueError:
            return f"external/{path.name}"

    def add_input(self, path: str | Path, table: pd.DataFrame | None = None, *,
                  role: str) -> None:
        """Record an input file's sha256 and, from ``table.attrs``, rows in/out and drops."""
        entry: dict[str, Any] = {"sha256": sha256_file(path), "role": role}
        if table is not None:
            entry["rows_in"] = int(table.attrs.get("rows_in", len(table)))
            entry["rows_out"] = int(len(table))
            entry["drops"] = {k: int(v) for k, v in table.attrs.get("drops", {}).items() if v}
        self.inputs[self._name(path)] = entry

    def add_step(self, name: str, rows_in: int, rows_out: int,
                 drops: dict[str, int] | None = None) -> None:
        """Record a processing step's row counts and drops by reason."""
        self.steps[name] = {"rows_in": int(rows_in), "rows_out": int(rows_out),
                            "drops": {k: int(v) for k, v in (drops or {}).items() if v}}

    def add_output(self, path: str | Path, rows: int, written: str | Path | None = None
                   ) -> None:
        """Record an output by its final ``path``; ``written``: where it is staged now."""
        self.outputs[self._name(path)] = {"sha256": sha256_file(written or path),
                                          "rows": int(rows)}

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "inputs": self.inputs, "steps": self.steps,
                "outputs": self.outputs}

    def write(self, target: str | Path) -> Path:
        """Write the manifest atomically as sorted-key JSON."""
        return write_json(self.to_dict(), target)
