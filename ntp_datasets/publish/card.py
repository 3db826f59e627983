"""The dataset card (``README.md``) of a dataset folder: YAML ``configs:`` and ``dataset_info``
that let plain ``datasets.load_dataset(DIR, name)`` read the folder, then row counts and
provenance."""

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
## Provenance

| | |
|---|---|
| project spec | {{ provenance.spec }} |
{% for project in provenance.projects %}| project `{{ project.name }}` | {{ describe_project(project) }} |
{% for package in project.packages or [] %}| {% if package.root %}its package{% else %}its dependency{% endif %} `{{ package.name }}` | {{ describe_package(package) }} |
{% endfor %}{% endfor %}| Lean used | {% if provenance.lean.version %}{{ provenance.lean.version }}{% elif only_read %}none: every row was read from ntp-toolkit output{% else %}unknown{% endif %}{% if provenance.lean.kind %} ({{ provenance.lean.kind }}){% endif %} |
| extractor version | {{ provenance.extractor_version }} |
| ntp-datasets version | {{ provenance.ntp_datasets_version }} |
| built (UTC) | {{ provenance.built_at }} |

The same facts are in `{{ manifest_name }}`.

## Distributions

![Tactics per proof, proof state length and proof length]({{ stats_plot }})
"""


LOCAL_LOAD_PATH = "path/to/this/folder"
"""What the card's code example loads; ``push_to_hub`` puts the repository id there."""


def dataset_card(manifest: FolderManifest, infos: dict, load_path: str = LOCAL_LOAD_PATH):
    """The ``huggingface_hub.DatasetCard`` of a folder: YAML ``configs:`` (a ``data_files``
    entry per split) and ``dataset_info`` (features, split sizes), then provenance and row counts."""
    project_name = ", ".join(p["name"] for p in manifest.provenance.get("projects", [])) or manifest.provenance["spec"]
    licenses = {p.get("license") for p in manifest.provenance.get("projects", [])}
    card_data = DatasetCardData(
        # The root packages' licence (Hub ids are SPDX ids in lower case), when they agree on a known one.
        license=next(iter(licenses)).lower() if len(licenses) == 1 and None not in licenses else "unknown",
        pretty_name=f"{project_name} (ntp-datasets)",
        tags=["lean4", "theorem-proving", "formal-mathematics", "ntp-datasets"],
        task_categories=["text-generation"],
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


def write_card(directory: Path, manifest: FolderManifest, infos: dict) -> None:
    """Write ``README.md`` (the dataset card) into ``directory``."""
    dataset_card(manifest, infos).save(Path(directory) / CARD_NAME)
