"""Statistics of a dataset folder: rows per config and split, and the distributions a
user checks first (tactic steps per proof, proof state length, proof length), as a
text table and a PNG plot (``stats.png``, linked from the dataset card)."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.publish.folder import STATS_PLOT_NAME, FolderManifest, read_manifest

# Where each distribution is read from: the first of these configs the folder holds (all splits).
TACTIC_SOURCES = (
    ("tactic_prediction", "declId"),
    ("tactic_prediction_with_premises", "declId"),
    ("instruct_state_tactic", "declId"),
    ("instruct_context_state_tactic", "declId"),
)
STATE_SOURCES = (("tactic_prediction", "state"), ("tactic_prediction_with_premises", "state"))
PROOF_SOURCES = (
    ("full_proof", "proof"),
    ("instruct_full_proof", "target"),
    ("instruct_context_full_proof", "target"),
)


@dataclass
class Distribution:
    """Integer values of one quantity, and the config and column they were read from."""

    title: str
    unit: str
    values: list[int] = field(default_factory=list)
    source: str | None = None

    def summary(self) -> dict:
        """count, min, median, mean, max (count only when there are no values)."""
        if not self.values:
            return {"count": 0}
        return {
            "count": len(self.values),
            "min": min(self.values),
            "median": statistics.median(self.values),
            "mean": round(statistics.fmean(self.values), 1),
            "max": max(self.values),
        }


@dataclass
class FolderStats:
    """Rows per config and split, and the distributions of a dataset folder."""

    row_counts: dict[str, dict[str, int]]
    distributions: dict[str, Distribution]


def _column(directory: Path, manifest: FolderManifest, sources) -> tuple[str | None, list]:
    """Values of the first (config, column) of ``sources`` the folder holds, over all its splits."""
    import pyarrow.parquet as pq

    for config, column in sources:
        if config in manifest.splits:
            values = []
            for entry in manifest.splits[config].values():
                for path in entry["paths"]:
                    values += pq.read_table(directory / path, columns=[column]).column(column).to_pylist()
            return f"{config}.{column}", values
    return None, []


def folder_stats(directory) -> FolderStats:
    """Row counts and distributions of the dataset folder ``directory``.

    ``tactics_per_proof``: tactic steps per declaration, over declarations with at least one
    step; ``state_chars``: characters of each step's ``state``; ``proof_chars`` and
    ``proof_lines``: size of each declaration's ``proof``.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    tactic_source, decl_ids = _column(directory, manifest, TACTIC_SOURCES)
    state_source, states = _column(directory, manifest, STATE_SOURCES)
    proof_source, proofs = _column(directory, manifest, PROOF_SOURCES)
    distributions = {
        "tactics_per_proof": Distribution("Tactic steps per proof", "steps", sorted(Counter(decl_ids).values()), tactic_source),
        "state_chars": Distribution("Proof state length", "characters", [len(s) for s in states], state_source),
        "proof_chars": Distribution("Proof length", "characters", [len(p) for p in proofs], proof_source),
        "proof_lines": Distribution("Proof length", "lines", [p.count("\n") + 1 for p in proofs], proof_source),
    }
    return FolderStats(row_counts=manifest.row_counts(), distributions=distributions)


def format_stats(stats: FolderStats) -> str:
    """The statistics as a text table."""
    width = max(len(config) for config in stats.row_counts)
    lines = [f"{'config':<{width}}  {'split':<16} {'rows':>8}"]
    for config, splits in stats.row_counts.items():
        for split, rows in splits.items():
            lines.append(f"{config:<{width}}  {split:<16} {rows:>8}")
    lines.append("")
    for name, dist in stats.distributions.items():
        summary = ", ".join(f"{key} {value}" for key, value in dist.summary().items())
        source = f"  (from {dist.source})" if dist.source else "  (no config in the folder has it)"
        lines.append(f"{dist.title} ({dist.unit}): {summary}{source}")
    return "\n".join(lines)


def _histogram(axes, dist: Distribution, integer_bins: bool = False) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title(f"{dist.title} ({dist.unit})")
    if not dist.values:
        axes.text(0.5, 0.5, "no data in this folder", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return
    if integer_bins:
        bins = [b - 0.5 for b in range(min(dist.values), max(dist.values) + 2)]
        if len(bins) > 60:
            bins = 60
    else:
        bins = min(50, max(5, len(set(dist.values))))
    axes.hist(dist.values, bins=bins, color="#4C72B0", edgecolor="white")
    median = statistics.median(dist.values)
    axes.axvline(median, color="#C44E52", linestyle="--", label=f"median {median:g}")
    axes.legend(loc="upper right", fontsize=8)
    axes.set_xlabel(f"{dist.unit}  (from {dist.source}, n={len(dist.values)})", fontsize=8)
    axes.set_ylabel("count")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if integer_bins:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def write_stats_plot(directory, stats: FolderStats | None = None) -> Path:
    """Write ``stats.png`` into the dataset folder ``directory`` and return its path: rows per
    config, tactic steps per proof, proof state length, proof length in lines."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg, no display needed

    directory = Path(directory)
    stats = stats or folder_stats(directory)
    figure = Figure(figsize=(12, 8), layout="constrained")
    (rows_axes, tactics_axes), (state_axes, proof_axes) = figure.subplots(2, 2)

    configs = list(stats.row_counts)
    totals = [sum(stats.row_counts[c].values()) for c in configs]
    rows_axes.barh(configs, totals, color="#55A868")
    if max(totals) > 50 * max(min(totals), 1):  # e.g. imports dwarfs the rest: a log axis keeps all readable
        rows_axes.set_xscale("log")
        rows_axes.set_xlim(left=0.5)  # a config with one row still shows a bar
    rows_axes.invert_yaxis()
    rows_axes.set_title("Rows per config (all splits)" + (", log scale" if rows_axes.get_xscale() == "log" else ""))
    rows_axes.tick_params(axis="y", labelsize=7)
    if rows_axes.get_xscale() == "linear":
        rows_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, total in enumerate(totals):
        rows_axes.text(total, y, f" {total}", va="center", fontsize=7)

    _histogram(tactics_axes, stats.distributions["tactics_per_proof"], integer_bins=True)
    _histogram(state_axes, stats.distributions["state_chars"])
    _histogram(proof_axes, stats.distributions["proof_lines"], integer_bins=True)

    path = directory / STATS_PLOT_NAME
    partial = path.with_name(path.name + ".partial")
    figure.savefig(partial, format="png", dpi=100)
    os.replace(partial, path)
    return path
