"""The package's one exception hierarchy.

Every error a user can act on (a bad spec, a missing toolchain, a template that does not
render, a folder that cannot be written) is an :class:`NtpDatasetsError`; the CLI prints
exactly these as one ``error: ...`` line and lets anything else surface as a traceback.
Errors that were ``ValueError``s before keep that base too, so ``except ValueError`` still
catches them.
"""

from __future__ import annotations

import errno


class NtpDatasetsError(Exception):
    """Base class of every error ntp-datasets raises on purpose."""


class ToolchainError(NtpDatasetsError, RuntimeError):
    """No usable Lean toolchain, or one that failed to install."""


class ProjectError(NtpDatasetsError, ValueError):
    """The project cannot be extracted at all (no such directory, no modules)."""


class ProjectSpecError(ProjectError):
    """A project spec that cannot be resolved: no such path, bad config file, git failure."""


class DependencyError(ProjectError):
    """The project requires packages (lakefile ``require``) that the build cannot have: the
    toolchain provides none, or Lake has not fetched them into the project."""


class LakeConfigError(ProjectError):
    """A Lake package's configuration cannot be read: a ``lakefile.toml`` that is not valid
    TOML or gives a field the wrong type, a ``lakefile.lean`` that is not the declarative
    Lake DSL, a ``lake-manifest.json`` that is not a manifest. ``file`` and ``line`` (1-based,
    0 when unknown) say where."""

    def __init__(self, message: str, file=None, line: int = 0):
        super().__init__(message)
        self.file = file
        self.line = line


class UnsupportedLakefileError(LakeConfigError):
    """A ``lakefile.lean`` computes its configuration in a way the reader cannot follow
    without running Lean (``if``, ``do``, ``run_io``, a macro, a custom target a library
    needs ...); ``construct`` names it. The reader never guesses such a configuration."""

    def __init__(self, message: str, file=None, line: int = 0, construct: str = ""):
        super().__init__(message, file, line)
        self.construct = construct


class ConfigError(NtpDatasetsError, ValueError):
    """A builder config option no build can use (an unknown record kind, a negative budget)."""


class ExtractorError(NtpDatasetsError, RuntimeError):
    """The extractor program itself is broken (not a module of the project)."""


class CacheEntryError(NtpDatasetsError, RuntimeError):
    """An extraction cache entry changed while it was being read (it has been discarded)."""


class PromptTemplateError(NtpDatasetsError, ValueError):
    """A template cannot be used: bad syntax, a missing macro, no or an unknown record kind."""


class PromptRenderError(NtpDatasetsError, ValueError):
    """A template used a variable the record does not provide."""


class FolderError(NtpDatasetsError, ValueError):
    """A dataset folder is missing, incomplete, or not one ntp-datasets wrote."""


class PublishError(NtpDatasetsError, ValueError):
    """A dataset folder cannot be written or pushed as asked."""


class OutputError(NtpDatasetsError, RuntimeError):
    """Writing output failed (disk full, no permission, not a directory): ``path`` names where."""

    def __init__(self, reason: str, path):
        super().__init__(f"cannot write output: {reason}: {path}")
        self.path = path


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS,
                  errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.EIO}
"""What writing can fail with through no fault of ntp-datasets (other OSErrors stay tracebacks)."""


def output_error(exc: BaseException, fallback_path) -> OutputError | None:
    """The :class:`OutputError` for an ``OSError`` of writing (disk full, no permission, ...)
    behind ``exc`` (itself, or its ``__cause__``/``__context__``), naming the file it names or
    ``fallback_path``; None when there is none or an ntp-datasets error is behind ``exc``."""
    while exc is not None:
        if isinstance(exc, NtpDatasetsError):
            return None
        if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
            return OutputError(exc.strerror or str(exc), exc.filename or fallback_path)
        exc = exc.__cause__ or exc.__context__
    return None
