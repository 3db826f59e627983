"""The one way ntp-datasets runs git: never prompting for credentials, and with URLs' user
and password parts stripped from anything it reports."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
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
    try:
        result = subprocess.run(["git", *args], cwd=cwd, env=_git_env(), capture_output=True, text=True,
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


def _git_env() -> dict:
    return dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true")


def git_stream(args: list[str], cwd: Path, separator: bytes = b"\n") -> Iterator[bytes]:
    """Run ``git args`` like :func:`run_git`, yielding its stdout in pieces ending at
    ``separator`` (which is cut off) as it comes, so a whole history need not fit in memory;
    raise :class:`ProjectSpecError` with its stderr when it fails."""
    try:
        process = subprocess.Popen(["git", *args], cwd=cwd, env=_git_env(), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as error:
        raise ProjectSpecError("git is not installed; it is needed to read project histories") from error
    finished = False
    with process:
        try:
            pending = b""
            for chunk in iter(lambda: process.stdout.read(1 << 16), b""):
                pieces = (pending + chunk).split(separator)
                pending = pieces.pop()
                yield from pieces
            if pending:
                yield pending
            finished = True
        finally:
            if not finished:  # the caller stopped reading: git would wait on a full pipe forever
                process.kill()
        stderr = process.stderr.read().decode("utf-8", errors="replace")
    if process.returncode != 0:
        command = strip_credentials(" ".join(args))
        raise ProjectSpecError(f"`git {command}` failed (exit {process.returncode}):\n{strip_credentials(stderr.strip())}")


class BlobReader:
    """Reads objects of a repository (``commit:path``) through one ``git cat-file --batch``
    process; use it as a context manager."""

    def __init__(self, cwd: Path):
        try:
            self.process = subprocess.Popen(["git", "cat-file", "--batch"], cwd=cwd, env=_git_env(),
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except FileNotFoundError as error:
            raise ProjectSpecError("git is not installed; it is needed to read project histories") from error

    def read(self, object_name: str) -> bytes | None:
        """The content of ``object_name`` (e.g. ``<commit>:<path>``), or None when there is no such object."""
        if "\n" in object_name:
            return None  # one request per line: such a name cannot be asked for
        self.process.stdin.write(object_name.encode("utf-8") + b"\n")
        self.process.stdin.flush()
        header = self.process.stdout.readline().split()
        if len(header) != 3:  # "<name> missing" (or "ambiguous")
            return None
        content = self.process.stdout.read(int(header[2]))
        self.process.stdout.read(1)  # the newline after the content
        return content

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        self.process.wait()
