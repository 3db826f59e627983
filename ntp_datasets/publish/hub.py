"""Uploading a dataset folder to the Hugging Face Hub, without ever showing a token."""

from __future__ import annotations

import re
from pathlib import Path

import huggingface_hub
from huggingface_hub import CommitOperationAdd

from ntp_datasets.errors import FolderError, PublishError
from ntp_datasets.publish.card import LOCAL_LOAD_PATH
from ntp_datasets.publish.check import check_folder
from ntp_datasets.publish.folder import CARD_NAME, missing_files, read_manifest

_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


def redact(text: str, token: str | None = None) -> str:
    """``text`` with Hugging Face tokens (the given one, the logged-in one, any ``hf_...``) masked."""
    for secret in {token, huggingface_hub.get_token()}:
        if secret:
            text = text.replace(secret, "***")
    return _TOKEN_PATTERN.sub("hf_***", text)


def card_for_repo(directory: Path, repo_id: str) -> bytes:
    """The folder's card with its code example loading ``repo_id`` instead of a local path."""
    text = (directory / CARD_NAME).read_text(encoding="utf-8")
    return text.replace(f'load_dataset("{LOCAL_LOAD_PATH}"', f'load_dataset("{repo_id}"').encode("utf-8")


def push_to_hub(directory, repo_id: str, *, private: bool = False, token: str | None = None, api=None, commit_message=None,
                check: bool = True) -> str:
    """Upload the dataset folder ``directory`` to the Hub dataset repository ``repo_id`` in one commit.

    The repository is created if needed (``private`` then applies). The token is
    ``token`` or huggingface_hub's own (``HF_TOKEN``, ``hf auth login``); it is never
    printed or logged. ``api``: the ``huggingface_hub.HfApi`` to use (tests pass a
    substitute). Uploads exactly the files the manifest names; remote files the
    folder does not have are left as they are (the card names the data files to read).
    ``check``: first check the folder (``check.check_folder``: no empty file, row groups the
    Hub's viewer takes, every config loading with plain datasets); nothing is uploaded when
    it fails. Returns the repository's URL.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    missing = missing_files(directory, manifest)
    if missing:
        raise FolderError(f"{directory} is incomplete, missing: {', '.join(missing)}; run `ntp-datasets build` again")
    if check:
        check_folder(directory)
    if api is None:
        if token is None and huggingface_hub.get_token() is None:
            raise PublishError("no Hugging Face token: run `hf auth login` or set HF_TOKEN")
        api = huggingface_hub.HfApi(token=token)
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    operations = [
        CommitOperationAdd(path_in_repo=rel, path_or_fileobj=card_for_repo(directory, repo_id) if rel == CARD_NAME else str(directory / rel))
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
