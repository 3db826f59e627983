"""The one way ntp-datasets runs git: never prompting for credentials, and with URLs' user
and password parts stripped from anything it reports."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ntp_datasets.errors import ProjectSpecError


_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")


def strip_credentials(text: str) -> str:
    """``text`` with the user:password part of every URL in it removed (a remote may carry a
    token); a URL alone loses it too."""
    parts = urlsplit(text)
    if parts.scheme and "@" in parts.netloc and " " not in text:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return _URL_USERINFO.sub(r"\g<scheme>", text)


def run_git(args: list[str], cwd: Path | None = None) -> str:
    """Run ``git args`` without prompting for credentials; return its stdout, or raise
    :class:`ProjectSpecError` with its stderr."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true")
    try:
        result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL)
    except FileNotFoundError as error:
        raise ProjectSpecError("git is not installed; it is needed to check out project repositories") from error
    if result.returncode != 0:
        command = strip_credentials(" ".join(args))
        raise ProjectSpecError(
            f"`git {command}` failed (exit {result.returncode}):\n{strip_credentials(result.stderr.strip())}")
    return result.stdout.strip()


def git_output(directory: Path, *args: str) -> str | None:
    """Output of ``git args`` run in ``directory``, or None when git or the repository is not there."""
    try:
        return run_git(list(args), cwd=directory)
    except (ProjectSpecError, OSError):
        return None
