"""The funnel per language: for each `lang` the language step wrote, how many documents came
in, how many were kept, and which rules dropped the others. It also says which languages the
heuristic filters judged with derived thresholds and which fell back to the defaults.

Read from the output's own files (the `lang` and `reason` columns of kept and rejected
shards), so it needs no counters beyond what the shards hold.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curation.langid import UNDETERMINED
from curation.text.languages import known_languages, stop_words

NO_LANG = "(none)"  # rejected before the language step, or no language step


def language_funnel(output_dir: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """{"rows": [{lang, in, kept, rejected: {reason: n}, thresholds, stop_words}, ...]}
    sorted by documents in, or None when no file has a `lang` column."""
    kept: Counter = Counter()
    rejected: dict[str, Counter] = {}
    found = False
    for entry in manifest.get("files", []):
        path = output_dir / entry["path"]
        names = pq.ParquetFile(path).schema_arrow.names
        if "lang" not in names:
            continue
        found = True
        is_rejected = entry.get("split") == "rejected"
        columns = ["lang", "reason"] if is_rejected else ["lang"]
        table = pq.read_table(path, columns=columns).group_by(columns).aggregate(
            [([], "count_all")])
        for row in table.to_pylist():
            lang = row["lang"] or NO_LANG
            if is_rejected:
                rejected.setdefault(lang, Counter())[row["reason"]] += row["count_all"]
            else:
                kept[lang] += row["count_all"]
    if not found:
        return None
    tables = known_languages()
    rows = []
    for lang in set(kept) | set(rejected):
        dropped = rejected.get(lang, Counter())
        rows.append({
            "lang": lang, "in": kept[lang] + sum(dropped.values()), "kept": kept[lang],
            "rejected": dict(dropped.most_common()),
            "thresholds": ("English defaults" if lang == "en" else
                           "-" if lang in (NO_LANG, UNDETERMINED[0]) else
                           "derived" if lang in tables else "defaults (no table)"),
            "stop_words": (lang in (NO_LANG, UNDETERMINED[0], "en")
                           or stop_words(lang) is not None),
        })
    rows.sort(key=lambda r: (-r["in"], r["lang"]))
    fallback = [r["lang"] for r in rows if r["thresholds"] == "defaults (no table)"]
    return {"rows": rows, "defaults_used_for": fallback}
