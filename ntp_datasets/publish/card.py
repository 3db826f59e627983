"""The dataset card (``README.md``) of a dataset folder: YAML ``configs:`` (a ``data_files``
entry per split) and ``dataset_info`` that let plain ``datasets.load_dataset(DIR, name)`` read the
folder, the metadata the Hub reads (``pretty_name``, ``license``, ``task_categories``, ``tags``,
``size_categories``, ``source_datasets``), then row counts, splits and leakage, provenance."""

from __future__ import annotations

from pathlib import Path

from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from ntp_datasets.builders.ntp_toolkit import NtpToolkit
from ntp_datasets.publish.folder import CARD_NAME, MANIFEST_NAME, STATS_PLOT_NAME, FolderManifest
from ntp_datasets.publish.provenance import describe_package, describe_project
from ntp_datasets.records.from_ntp_toolkit import NULL_FIELDS

DEFAULT_CONFIG = NtpToolkit.DEFAULT_CONFIG_NAME
"""The config ``datasets.load_dataset(DIR)`` reads when no name is given (if it was built)."""


CARD_TEMPLATE = """\
---
{{ card_data }}
---

# {{ pretty_name }}

Neural theorem proving data extracted from the Lean 4 project **{{ project_name }}** by
ntp-datasets {{ provenance.ntp_datasets_version }}, one config per kind of row (tactic steps with
their proof states, whole proofs, premises, declarations, instruction-tuning prompt/completion
pairs; see the table). {% if read_fields %}Rows of projects marked below were read from ntp-toolkit output (no Lean
ran): its fields keep ntp-toolkit's values, and these fields of ours are null in them:

| config | null in rows read from ntp-toolkit output |
|---|---|
{% for config, fields in read_fields.items() %}| `{{ config }}` | {% for field in fields %}`{{ field }}`{% if not loop.last %}, {% endif %}{% endfor %} |
{% endfor %}{% else %}Every row comes from elaborating the project's modules with Lean.{% endif %}

```python
from datasets import load_dataset
ds = load_dataset("{{ load_path }}", "{{ example_config }}")
```

## Configs and rows

| config | split | rows |
|---|---|---|
{% for config, splits in row_counts.items() %}{% for split, rows in splits.items() %}| `{{ config }}` | {{ split }} | {{ rows }} |
{% endfor %}{% endfor %}{% if empty_configs %}
Built but without rows, so not included: {% for config in empty_configs %}`{{ config }}`{% if not loop.last %}, {% endif %}{% endfor %}.
{% endif %}
## Splits and leakage

{{ splitting_text }}
{% if leakage %}
A statement is a declaration's binders and type (comments, attributes, keyword and name left
out, whitespace normalised); `statementHash` identifies it in the rows of `full_proof`,
`declarations` and `minictx`.

| config | statements in more than one split | held-out declarations stating one | across projects | removed by dedup |
|---|---|---|---|---|
{% for config, report in leakage.items() %}| `{{ config }}` | {{ report.statements }} | {{ report.held_out }} | {{ report.across_projects }} | {{ report.removed }} |
{% endfor %}{% endif %}
## Provenance

| | |
|---|---|
| project spec | {{ provenance.spec }} |
{% for project in provenance.projects %}| project `{{ project.name }}` | {{ describe_project(project) }} |
{% for package in project.packages or [] %}| {% if package.root %}its package{% else %}its dependency{% endif %} `{{ package.name }}` | {{ describe_package(package) }} |
{% endfor %}{% endfor %}| Lean used | {% if provenance.lean.version %}{{ provenance.lean.version }}{% elif only_read %}none: every row was read from ntp-toolkit output{% else %}unknown{% endif %}{% if provenance.lean.kind %} ({{ provenance.lean.kind }}){% endif %} |
| extractor version | {{ provenance.extractor_version }} |
| ntp-datasets version | {{ provenance.ntp_datasets_version }} |
| licence | {{ license or "not known: the projects' licence files name no single known licence (give one with `--license`)" }} |
| built (UTC) | {{ provenance.built_at }} |

The same facts are in `{{ manifest_name }}`.

## Distributions

![Tactics per proof, proof state length and proof length]({{ stats_plot }})
"""


LOCAL_LOAD_PATH = "path/to/this/folder"
"""What the card's code example loads; ``push_to_hub`` puts the repository id there."""


SIZE_CATEGORIES = ((10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
                   (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"),
                   (10**11, "10B<n<100B"), (10**12, "100B<n<1T"))
"""The Hub's size categories (rows), by their upper bound; above the last one, ``n>1T``."""


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` entry for a dataset of ``rows`` rows."""
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>1T")


def folder_license(manifest: FolderManifest) -> str | None:
    """The licence every project of the folder names (``provenance.project_license``), or None
    when one names none or they differ."""
    licenses = {p.get("license") for p in manifest.provenance.get("projects", [])}
    return licenses.pop() if len(licenses) == 1 else None


def splitting_text(splitting: dict) -> str:
    """A paragraph saying how declarations were split (``FolderManifest.splitting``)."""
    strategy = splitting.get("split_strategy", "random")
    if strategy == "temporal":
        how = (f"`temporal`: theorems without `sorry` created after {splitting.get('cutoff')} (by "
               f"`{splitting.get('temporal_field')}`) are in `test`, a seeded half of them (seed "
               f"{splitting.get('seed')}) in `dev`, every other declaration in `train`")
    elif strategy == "novel_premises":
        how = ("`novel_premises`: every `dev` and `test` declaration uses a premise no `train` declaration uses "
               f"(seed {splitting.get('seed')})")
    else:
        how = (f"`random`: each declaration by a seeded hash (seed {splitting.get('seed')}, dev "
               f"{splitting.get('dev_fraction')}, test {splitting.get('test_fraction')}); record configs have `train` only")
    dedup = ("with `dedup`: of each statement stated in several splits one declaration is kept, in train"
             if splitting.get("dedup") else "without `dedup`")
    return f"Declarations are split {how}; {dedup}. All rows of a declaration are in its split."


def dataset_card(manifest: FolderManifest, infos: dict, load_path: str = LOCAL_LOAD_PATH, license: str | None = None):
    """The ``huggingface_hub.DatasetCard`` of a folder: YAML ``configs:`` (a ``data_files``
    entry per split), ``dataset_info`` (features, split sizes) and the Hub's metadata, then row
    counts, splits and leakage, provenance. ``license``: the licence (default: :func:`folder_license`)."""
    project_name = ", ".join(p["name"] for p in manifest.provenance.get("projects", [])) or manifest.provenance["spec"]
    license = license or folder_license(manifest)
    largest = max((sum(splits.values()) for splits in manifest.row_counts().values()), default=0)
    card_data = DatasetCardData(
        pretty_name=f"{project_name} (ntp-datasets)",
        license=license,
        tags=["lean4", "theorem-proving", "formal-mathematics", "ntp-datasets"],
        task_categories=["text-generation"],
        size_categories=[size_category(largest)],
        source_datasets=["original"],
    )
    default = DEFAULT_CONFIG if DEFAULT_CONFIG in manifest.splits else next(iter(manifest.splits))
    configs = {
        name: {
            "data_files": [{"split": split, "path": entry["paths"]} for split, entry in splits.items()],
            **({"default": True} if name == default else {}),
        }
        for name, splits in manifest.splits.items()
    }
    MetadataConfigs(configs).to_dataset_card_data(card_data)
    DatasetInfosDict(infos).to_dataset_card_data(card_data)
    return DatasetCard.from_template(
        card_data,
        template_str=CARD_TEMPLATE,
        pretty_name=card_data.pretty_name,
        project_name=project_name,
        provenance=manifest.provenance,
        describe_project=describe_project,
        describe_package=describe_package,
        row_counts=manifest.row_counts(),
        empty_configs=manifest.empty_configs,
        read_fields=_null_fields(manifest),
        only_read=all(p.get("ntp_toolkit_output") for p in manifest.provenance.get("projects", [{}])),
        example_config="full_proof" if "full_proof" in manifest.splits else default,
        splitting_text=splitting_text(manifest.splitting),
        leakage={config: report for config, report in manifest.leakage.items() if config in manifest.splits},
        license=license,
        load_path=load_path,
        manifest_name=MANIFEST_NAME,
        stats_plot=STATS_PLOT_NAME,
    )


def _null_fields(manifest: FolderManifest) -> dict[str, tuple[str, ...]]:
    """Per config of the folder, the fields that are null in rows read from ntp-toolkit output
    (none when no project was; ``instruct_*`` rows have none: prompts are rendered from fields
    ntp-toolkit has)."""
    if not any(p.get("ntp_toolkit_output") for p in manifest.provenance.get("projects", [])):
        return {}
    return {name: NULL_FIELDS[name] for name in manifest.splits if NULL_FIELDS.get(name)}


def write_card(directory: Path, manifest: FolderManifest, infos: dict, license: str | None = None) -> None:
    """Write ``README.md`` (the dataset card) into ``directory``."""
    dataset_card(manifest, infos, license=license).save(Path(directory) / CARD_NAME)
