"""Builder configs -> a dataset folder -> the Hugging Face Hub.

``build_dataset_folder(spec, out_dir)`` builds configs of the ntp_toolkit builder
for a project and writes them as Parquet, one file per config and split, with a
dataset card (``README.md``) whose YAML ``configs:`` lets plain
``datasets.load_dataset(out_dir, "full_proof")`` read them back, a manifest
(``ntp_datasets.json``) with the provenance, and a plot of the distributions
(``stats.png``). ``push_to_hub(out_dir, "user/name")`` uploads such a folder.
The layout is described in ``ntp_datasets.folder``.
"""

from __future__ import annotations

import datetime
import logging
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ntp_datasets.folder import (
    CARD_NAME,
    MANIFEST_NAME,
    STATS_PLOT_NAME,
    FolderError,
    FolderManifest,
    data_file,
    missing_files,
    read_manifest,
)

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "tactic_prediction"
"""The config ``datasets.load_dataset(DIR)`` reads when no name is given (if it was built)."""

MAX_SHARD_BYTES = 500 * 2**20
"""A split larger than this in memory (Arrow) is written as several Parquet files, as the Hub prefers."""

# Raised by datasets' ArrowReader for a split without rows; such a config is left out.
_NO_DATA_MESSAGE = "corresponds to no data"


class PublishError(ValueError):
    """A dataset folder cannot be written or pushed as asked."""


def buildable_configs() -> list[str]:
    """Configs a folder can hold: every record config and every built-in ``instruct_*`` config."""
    from ntp_datasets import prompting
    from ntp_datasets.records import RECORD_KINDS

    return [*RECORD_KINDS, *(f"instruct_{name}" for name in prompting.PROMPT_TYPES)]


def check_config_names(configs) -> list[str]:
    """The configs to build (default: all buildable ones); unknown names are an error listing the valid ones."""
    valid = buildable_configs()
    if not configs:
        return valid
    unknown = [name for name in configs if name not in valid]
    if unknown:
        raise PublishError(f"unknown config {', '.join(map(repr, unknown))}; valid configs: {', '.join(valid)}")
    return list(dict.fromkeys(configs))  # drop repeats, keep order


# --- provenance ---------------------------------------------------------------------------


def _strip_credentials(text: str) -> str:
    """``text`` without a URL's user:password part (a git remote may carry a token)."""
    parts = urlsplit(text)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return text


def _git(directory: Path, *args: str) -> str | None:
    """Output of ``git -C directory args``, or None when git or the repository is not there."""
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_provenance(directory: Path) -> dict:
    """Commit, uncommitted changes and origin of the git checkout holding ``directory`` (empty if none)."""
    commit = _git(directory, "rev-parse", "HEAD")
    if not commit:
        return {}
    info = {"git_commit": commit, "git_dirty": bool(_git(directory, "status", "--porcelain", "--", "."))}
    remote = _git(directory, "config", "--get", "remote.origin.url")
    if remote:
        info["git_remote"] = _strip_credentials(remote)
    return info


def project_provenance(project) -> dict:
    """Where one resolved project (``specs.ResolvedProject``) came from. A local directory is
    recorded by its name, not its path (a path says nothing to the card's readers), plus the
    commit of the git checkout holding it; a cloned one by its repository and commit."""
    info = {"name": project.name}
    if project.repo:
        info.update(repo=_strip_credentials(project.repo), git_commit=project.commit)
    else:
        info.update(git_provenance(project.root))
    if project.lean:
        info["lean_toolchain"] = project.lean
    return info


def _spec_text(spec) -> str:
    """The project spec as recorded in the card: local paths by their last component, URLs
    without credentials, a list element by element."""
    if spec is None:
        return "bundled sample project"
    if isinstance(spec, (list, tuple)):
        return ", ".join(_spec_text(item) for item in spec)
    if isinstance(spec, dict):
        return _spec_text(spec.get("name") or spec.get("repo"))
    if isinstance(spec, (str, Path)) and Path(spec).exists():
        return Path(spec).name
    return _strip_credentials(str(spec))


def describe_project(info: dict) -> str:
    """One line of the card for a project's provenance (see :func:`project_provenance`)."""
    parts = [info["repo"]] if info.get("repo") else []
    if info.get("git_commit"):
        parts.append(f"commit `{info['git_commit']}`" + (" (with uncommitted changes)" if info.get("git_dirty") else ""))
    if info.get("git_remote"):
        parts.append(f"remote {info['git_remote']}")
    if info.get("lean_toolchain"):
        parts.append(f"`lean-toolchain` `{info['lean_toolchain']}`")
    return ", ".join(parts) or "local directory"


def build_provenance(spec, configs: list[str]) -> dict:
    """Everything that says how a folder was made: project, Lean, extractor, package, date."""
    from ntp_datasets import __version__
    from ntp_datasets.extract import EXTRACTOR_VERSION
    from ntp_datasets.specs import resolve_projects
    from ntp_datasets.toolchain import ToolchainError, find_toolchain

    try:
        toolchain = find_toolchain(install=False)
        lean = {"version": toolchain.version, "kind": toolchain.kind}
    except ToolchainError:
        lean = {"version": None, "kind": None}
    return {
        "spec": _spec_text(spec),
        "projects": [project_provenance(p) for p in resolve_projects(spec)],
        "lean": lean,
        "extractor_version": EXTRACTOR_VERSION,
        "ntp_datasets_version": __version__,
        "built_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "configs_requested": configs,
    }


# --- building -----------------------------------------------------------------------------


def _files_under(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def _local_project_dirs(spec) -> list[Path]:
    """The directories of the spec's projects (clones included)."""
    from ntp_datasets.specs import resolve_projects

    return [project.root.resolve() for project in resolve_projects(spec)]


def check_output_dir(out_dir: Path, force: bool = False, spec=None) -> None:
    """Refuse to replace ``out_dir`` unless it is absent, empty, exactly a previous
    ntp-datasets build, or ``force`` is set: nothing the user did not ask for is deleted.
    Never replace the project ``spec`` itself or a directory holding it, even with ``force``."""
    for project_dir in _local_project_dirs(spec):
        if project_dir == out_dir.resolve() or out_dir.resolve() in project_dir.parents:
            raise PublishError(f"--out {out_dir} would replace the project {project_dir}; choose another directory")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise PublishError(f"{out_dir} exists and is not a directory")
    if force or not any(out_dir.iterdir()):
        return
    try:
        previous = read_manifest(out_dir)
    except FolderError:
        raise PublishError(
            f"{out_dir} is not empty and is not a dataset folder ntp-datasets wrote; "
            "choose another --out or pass --force to replace it"
        ) from None
    extra = sorted(set(_files_under(out_dir)) - set(previous.files()))
    if extra:
        shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise PublishError(f"{out_dir} holds files the previous build did not write ({shown}); move them away or pass --force")


def _build_config(name: str, spec, num_proc, cache_dir, config_kwargs: dict):
    """The ``DatasetDict`` of config ``name``, or None when it has no rows."""
    import ntp_datasets

    kwargs = dict(config_kwargs)
    if num_proc is not None:
        kwargs["num_proc"] = num_proc
    try:
        return ntp_datasets.load_dataset(name, project=spec, cache_dir=cache_dir, **kwargs)
    except ValueError as exc:
        if _NO_DATA_MESSAGE in str(exc):
            return None
        raise


def _write_config(directory: Path, name: str, dataset_dict):
    """Write each split of ``dataset_dict`` as Parquet; return its manifest entry and ``DatasetInfo``."""
    import datasets

    (directory / name).mkdir(parents=True, exist_ok=True)
    splits, split_infos, features = {}, datasets.SplitDict(), None
    for split, dataset in dataset_dict.items():
        num_shards = min(max(1, -(-dataset.data.nbytes // MAX_SHARD_BYTES)), dataset.num_rows)
        paths = [data_file(name, split, shard, num_shards) for shard in range(num_shards)]
        for shard, rel in enumerate(paths):
            # Dataset.to_parquet stores the features in the schema metadata, so reloads keep them.
            dataset.shard(num_shards, shard, contiguous=True).to_parquet(str(directory / rel))
        splits[split] = {"paths": paths, "num_rows": dataset.num_rows}
        split_infos.add(datasets.SplitInfo(name=split, num_bytes=dataset.data.nbytes, num_examples=dataset.num_rows))
        features = dataset.features
    info = datasets.DatasetInfo(
        features=features,
        splits=split_infos,
        config_name=name,
        dataset_size=sum(s.num_bytes for s in split_infos.values()),
        download_size=sum((directory / path).stat().st_size for s in splits.values() for path in s["paths"]),
    )
    return splits, info


def _move_into_place(built: Path, out_dir: Path) -> None:
    """Rename the finished folder to ``out_dir``, replacing what is there only once it is complete."""
    if not out_dir.exists():
        built.rename(out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    out_dir.rename(old)
    try:
        built.rename(out_dir)
    except OSError:
        old.rename(out_dir)
        raise
    shutil.rmtree(old)


def build_dataset_folder(
    spec,
    out_dir,
    configs=None,
    *,
    num_proc: int | None = None,
    force: bool = False,
    cache_dir=None,
    log: Callable[[str], None] = logger.info,
    **config_kwargs,
) -> FolderManifest:
    """Build ``configs`` of the project ``spec`` and write them as a dataset folder at ``out_dir``.

    ``spec``: the project, passed as ``project=`` to ``ntp_datasets.load_dataset`` (None: the
    bundled sample). ``configs``: config names (default: every record config and every built-in
    ``instruct_*`` config); a config without rows is left out and listed in the manifest's
    ``empty_configs``. ``num_proc``: worker processes per build. ``force``: replace ``out_dir``
    even if it holds something other than a previous build. ``cache_dir`` and ``config_kwargs``
    go to ``ntp_datasets.load_dataset``. The folder is written next to ``out_dir`` and renamed
    into place when complete. Returns the folder's manifest.
    """
    from ntp_datasets.stats import write_stats_plot

    out_dir = Path(out_dir)
    names = check_config_names(configs)
    check_output_dir(out_dir, force, spec)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    building = out_dir.with_name(f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    building.mkdir()
    try:
        manifest = FolderManifest(provenance=build_provenance(spec, names))
        infos = {}
        for number, name in enumerate(names, 1):
            log(f"[{number}/{len(names)}] building {name}")
            dataset_dict = _build_config(name, spec, num_proc, cache_dir, config_kwargs)
            if dataset_dict is None:
                log(f"  {name}: no rows, left out")
                manifest.empty_configs.append(name)
                continue
            manifest.splits[name], infos[name] = _write_config(building, name, dataset_dict)
        if not manifest.splits:
            raise PublishError(f"no config produced any rows ({', '.join(names)})")
        manifest.write(building)
        write_stats_plot(building)
        write_card(building, manifest, infos)
        _move_into_place(building, out_dir)
    finally:
        if building.exists():
            shutil.rmtree(building)
    return manifest


# --- the dataset card ---------------------------------------------------------------------

CARD_TEMPLATE = """\
---
{{ card_data }}
---

# {{ pretty_name }}

Neural theorem proving data extracted from the Lean 4 project **{{ project_name }}** by
ntp-datasets {{ provenance.ntp_datasets_version }}, one config per kind of row (tactic steps with
their proof states, whole proofs, premises, declarations, instruction-tuning prompt/completion
pairs; see the table). Every row comes from elaborating the project's modules with Lean.

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
{% endfor %}| Lean used | {{ provenance.lean.version or "unknown" }}{% if provenance.lean.kind %} ({{ provenance.lean.kind }}){% endif %} |
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
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    project_name = ", ".join(p["name"] for p in manifest.provenance.get("projects", [])) or manifest.provenance["spec"]
    card_data = DatasetCardData(
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
        row_counts=manifest.row_counts(),
        empty_configs=manifest.empty_configs,
        example_config="full_proof" if "full_proof" in manifest.splits else default,
        load_path=load_path,
        manifest_name=MANIFEST_NAME,
        stats_plot=STATS_PLOT_NAME,
    )


def write_card(directory: Path, manifest: FolderManifest, infos: dict) -> None:
    """Write ``README.md`` (the dataset card) into ``directory``."""
    dataset_card(manifest, infos).save(Path(directory) / CARD_NAME)


# --- the Hub ------------------------------------------------------------------------------

_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


def redact(text: str, token: str | None = None) -> str:
    """``text`` with Hugging Face tokens (the given one, the logged-in one, any ``hf_...``) masked."""
    from huggingface_hub import get_token

    for secret in {token, get_token()}:
        if secret:
            text = text.replace(secret, "***")
    return _TOKEN_PATTERN.sub("hf_***", text)


def _card_for_repo(directory: Path, repo_id: str) -> bytes:
    """The folder's card with its code example loading ``repo_id`` instead of a local path."""
    text = (directory / CARD_NAME).read_text(encoding="utf-8")
    return text.replace(f'load_dataset("{LOCAL_LOAD_PATH}"', f'load_dataset("{repo_id}"').encode("utf-8")


def push_to_hub(directory, repo_id: str, *, private: bool = False, token: str | None = None, api=None, commit_message=None) -> str:
    """Upload the dataset folder ``directory`` to the Hub dataset repository ``repo_id`` in one commit.

    The repository is created if needed (``private`` then applies). The token is
    ``token`` or huggingface_hub's own (``HF_TOKEN``, ``hf auth login``); it is never
    printed or logged. ``api``: the ``huggingface_hub.HfApi`` to use (tests pass a
    substitute). Uploads exactly the files the manifest names; remote files the
    folder does not have are left as they are (the card names the data files to read).
    Returns the repository's URL.
    """
    from huggingface_hub import CommitOperationAdd, HfApi, get_token

    directory = Path(directory)
    manifest = read_manifest(directory)
    missing = missing_files(directory, manifest)
    if missing:
        raise FolderError(f"{directory} is incomplete, missing: {', '.join(missing)}; run `ntp-datasets build` again")
    if api is None:
        if token is None and get_token() is None:
            raise PublishError("no Hugging Face token: run `hf auth login` or set HF_TOKEN")
        api = HfApi(token=token)
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    operations = [
        CommitOperationAdd(path_in_repo=rel, path_or_fileobj=_card_for_repo(directory, repo_id) if rel == CARD_NAME else str(directory / rel))
        for rel in manifest.files()
    ]
    configs = ", ".join(manifest.splits)
    api.create_commit(
        repo_id,
        operations,
        commit_message=commit_message or f"ntp-datasets {manifest.provenance.get('ntp_datasets_version', '')}: {configs}",
        repo_type="dataset",
    )
    return str(url)
