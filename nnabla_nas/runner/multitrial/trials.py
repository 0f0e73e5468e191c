"""`TrialLog`: every finished trial in ``trials.csv``, the record a killed search resumes from."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Sequence

from ...utils.io import write_text
from .strategy import Trial

Arch = tuple[str, ...]


class TrialLog:
    """Keeps ``trials.csv``: one row per finished trial (complete, infeasible or failed).

    The file is rewritten atomically after each trial, so a kill never loses a finished
    trial nor leaves a torn row. Architectures are stored through `format_arch` /
    `parse_arch` (e.g. NAS-Bench-201 strings), values as one column each.
    """

    FIXED = ("number", "state", "arch", "seconds", "error")

    def __init__(
        self,
        path: str,
        *,
        format_arch: Callable[[Arch], str] = lambda a: json.dumps(list(a)),
        parse_arch: Callable[[str], Arch] = lambda s: tuple(json.loads(s)),
    ) -> None:
        self.path = path
        self.format_arch, self.parse_arch = format_arch, parse_arch
        self.trials: list[Trial] = []
        self.seconds: list[float] = []

    def load(self) -> list[Trial]:
        """Reads the trials of an earlier run (none if the file does not exist).

        Raises:
            ValueError: the file is not a trial log, or a row is damaged (naming its line).
        """
        self.trials, self.seconds = [], []
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return []  # a search killed before its first trial ended
        try:
            with open(self.path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                missing = [c for c in self.FIXED if c not in (reader.fieldnames or [])]
                if missing:
                    raise ValueError(f"no column {', '.join(missing)} in the header")
                for row in reader:
                    self._read_row(row, reader.line_num)
        except (UnicodeDecodeError, csv.Error, ValueError) as err:
            raise ValueError(
                f"trial log '{self.path}' is damaged: {err}; restore it or delete the damaged "
                "line, then resume"
            ) from None
        return list(self.trials)

    def _read_row(self, row: dict[str, str], line: int) -> None:
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"line {line} has {len(row)} fields, not one per column")
        try:
            trial = self._trial(row)
            seconds = float(row.get("seconds") or 0.0)
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"line {line}: {err}") from None
        self.trials.append(trial)
        self.seconds.append(seconds)

    def _trial(self, row: dict[str, str]) -> Trial:
        values = {k: float(v) for k, v in row.items() if k not in self.FIXED and v != ""}
        return Trial(
            number=int(row["number"]),
            arch=self.parse_arch(row["arch"]),
            state=row["state"],
            values=values,
            error=row.get("error", ""),
        )

    def append(self, trial: Trial, seconds: float = 0.0) -> None:
        """Adds a finished trial and rewrites the file."""
        self.trials.append(trial)
        self.seconds.append(seconds)
        self.save()

    def save(self) -> None:
        columns = list(self.FIXED[:4]) + self._value_columns(self.trials) + ["error"]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for trial, seconds in zip(self.trials, self.seconds, strict=True):
            writer.writerow({
                "number": trial.number, "state": trial.state,
                "arch": self.format_arch(trial.arch), "seconds": f"{seconds:.3f}",
                "error": trial.error, **trial.values,
            })  # fmt: skip
        write_text(self.path, out.getvalue())

    @staticmethod
    def _value_columns(trials: Sequence[Trial]) -> list[str]:
        columns: list[str] = []
        for trial in trials:
            columns.extend(k for k in trial.values if k not in columns)
        return columns
