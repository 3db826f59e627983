"""Command line: ``ntp-datasets toolchain install|info``, ``preview``, ``build``/``push``/``stats``
of dataset folders, and ``export`` in ntp-toolkit's layout.

A build prints one summary line per config (modules extracted now, read from the extraction
cache, or the config read from the datasets cache; failed by kind; errors; rows) and exits with status 1 when nothing could be built, or, with ``--strict``, when any error was
recorded (see the ``errors`` config).
"""

from __future__ import annotations

import argparse
import sys

from ntp_datasets.api import build
from ntp_datasets.errors import NtpDatasetsError
from ntp_datasets.extraction import EXECUTORS, ExtractionOptions, Extractor
from ntp_datasets.extraction.options import TOOLCHAIN_KINDS
from ntp_datasets.extraction.program import compiled_extractor
from ntp_datasets.publish import (
    build_dataset_folder,
    export_ntp_toolkit,
    folder_stats,
    format_stats,
    push_to_hub,
    redact,
    write_stats_plot,
)
from ntp_datasets.publish.ntp_toolkit_export import EXPORTED_CONFIGS, LAYOUT
from ntp_datasets.records import TEMPORAL_FIELDS
from ntp_datasets.rows.splits import SPLIT_STRATEGIES
from ntp_datasets.toolchain import find_toolchain, install_wasm_toolchain, ntp_home
from ntp_datasets.version import __version__


def _toolchain_install(args) -> int:
    toolchain = install_wasm_toolchain()
    print(f"{toolchain.version}\n  at {toolchain.location}")
    print(f"extractor compiled at {compiled_extractor(toolchain, log=print)}")
    return 0


def _toolchain_info(args) -> int:
    toolchain = find_toolchain(install=False)
    print(f"kind:     {toolchain.kind}\nversion:  {toolchain.version}\nlocation: {toolchain.location}")
    print(f"home:     {ntp_home()}")
    return 0


def _preview(args) -> int:
    status = 0
    if args.extractor is None:  # one extractor for every config: Lean errors are shown once
        args.extractor = make_extractor(args)
    for config in args.config or ["tactic_prediction", "full_proof"]:
        result = build(config, args.project, cache_dir=args.cache_dir, **build_options(args))
        ds, summary = result.dataset, result.summary
        print(summary.format())
        status = max(status, summary.exit_status(args.strict))
        train = ds["train"]
        print(f"\n=== {config}: {train.num_rows} rows; first {min(args.rows, train.num_rows)} ===")
        for row in train.select(range(min(args.rows, train.num_rows))):
            for key, value in row.items():
                if isinstance(value, str) and len(value) > 200:
                    value = "..." + value[-200:]
                print(f"  {key}: {value!r}")
            print()
    return status


def add_build_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that builds datasets: ``--strict``, ``--cache-dir``, the
    extraction options (``--workers``, ``--executor``, ``--ray-address``, ``--module-timeout``,
    ``--command-timeout``, ``--toolchain``: see ``ExtractionOptions``), whose rows
    (``--packages``, ``--include-untargeted``) and the splits' ``--split-strategy``,
    ``--cutoff``, ``--temporal-field``, ``--dedup``."""
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 if any error was recorded (default: only if nothing could be built)")
    parser.add_argument("--cache-dir", default=None, help="datasets cache directory")
    parser.add_argument("--module-timeout", type=float, default=None, metavar="SECONDS",
                        help="CPU seconds one module may take (default: $NTP_DATASETS_MODULE_TIMEOUT or 3600; 0: none)")
    parser.add_argument("--command-timeout", type=float, default=None, metavar="SECONDS",
                        help="CPU seconds one command may take; it is then skipped (default: "
                             "$NTP_DATASETS_COMMAND_TIMEOUT or 600; 0: none)")
    parser.add_argument("--workers", type=int, default=None, metavar="K",
                        help="Lean processes extracting side by side over the import graph (default: "
                             "$NTP_DATASETS_WORKERS, else as many as pay for their start-up, within the cores and "
                             "the memory)")
    parser.add_argument("--executor", choices=EXECUTORS, default=None,
                        help="where the workers run: local processes (default), or Ray actors "
                             "(pip install \"ntp-datasets[ray]\")")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="the Ray cluster to use with --executor ray (default: a local Ray started for the build)")
    parser.add_argument("--packages", default=None, metavar="all|NAME[,NAME...]",
                        help="whose rows, for a Lake package: every package the build elaborates (all), or the named "
                             "ones (default: the root package's)")
    parser.add_argument("--include-untargeted", action="store_true",
                        help="also extract the .lean files of a Lake package that none of its targets builds")
    parser.add_argument("--toolchain", choices=TOOLCHAIN_KINDS, default=None,
                        help="the Lean to use (default: $NTP_DATASETS_TOOLCHAIN, else a native lean on PATH, else "
                             "the WebAssembly build)")
    parser.add_argument("--split-strategy", choices=SPLIT_STRATEGIES, default=None,
                        help="how declarations go to train/dev/test (default: random); temporal needs --cutoff")
    parser.add_argument("--cutoff", default=None, metavar="YYYY-MM-DD",
                        help="temporal split: theorems created after this date go to test (half of them to dev)")
    parser.add_argument("--temporal-field", choices=TEMPORAL_FIELDS, default=None,
                        help="the date a temporal split goes by (default: declarationCreated)")
    parser.add_argument("--dedup", action="store_true",
                        help="keep one declaration, in train, of each statement found in several splits")


def extraction_options(args) -> ExtractionOptions:
    """The extraction options of a command's flags (:func:`add_build_options`)."""
    return ExtractionOptions.of(workers=args.workers, executor=args.executor, ray_address=args.ray_address,
                                module_timeout=args.module_timeout, command_timeout=args.command_timeout,
                                toolchain=args.toolchain)


def make_extractor(args) -> Extractor:
    """The one extractor of a command, from its build options."""
    return Extractor(extraction_options(args))


def build_options(args) -> dict:
    """Builder config options of a command: its extractor (which carries the extraction options),
    whose rows (``--packages``), which files (``--include-untargeted``) and the splits'
    options."""
    options = {"extractor": getattr(args, "extractor", None)}
    packages = getattr(args, "packages", None)
    if packages:
        options["packages"] = packages if packages == "all" else [name.strip() for name in packages.split(",")]
    if getattr(args, "include_untargeted", False):
        options["include_untargeted"] = True
    given = {"split_strategy": getattr(args, "split_strategy", None), "cutoff": getattr(args, "cutoff", None),
             "temporal_field": getattr(args, "temporal_field", None), "dedup": getattr(args, "dedup", False) or None}
    options.update({name: value for name, value in given.items() if value is not None})
    return options


def _build(args) -> int:
    if args.extractor is None:  # one extractor for the folder's configs and the summary
        args.extractor = make_extractor(args)
    summaries = []  # one line per config, printed by build_dataset_folder as it goes
    manifest = build_dataset_folder(
        args.spec, args.out, args.config, num_proc=args.num_proc, force=args.force, log=print,
        cache_dir=args.cache_dir, summaries=summaries, license=args.license, **build_options(args),
    )
    print(f"\nwrote {args.out}")
    if manifest.empty_configs:
        print(f"left out (no rows): {', '.join(manifest.empty_configs)}")
    print(format_stats(folder_stats(args.out)))
    return max(summary.exit_status(args.strict) for summary in summaries)


def _export(args) -> int:
    if args.extractor is None:  # one extractor for every config
        args.extractor = make_extractor(args)
    result = export_ntp_toolkit(args.project, args.out, args.config, num_proc=args.num_proc, log=print,
                                cache_dir=args.cache_dir, **build_options(args))
    print(f"\nwrote {result.files} files in {LAYOUT}'s layout to {args.out}: "
          + ", ".join(f"{args.out}/{name}" for name in result.projects))
    return max(summary.exit_status(args.strict) for summary in result.summaries)


def _push(args) -> int:
    try:
        url = push_to_hub(args.dir, args.repo, private=args.private)
    except NtpDatasetsError:
        raise
    except Exception as exc:  # Hub and network errors: shown without any token they might echo
        print(f"error: pushing to {args.repo} failed: {redact(str(exc))}", file=sys.stderr)
        return 1
    print(f"pushed {args.dir} to {url}")
    return 0


def _stats(args) -> int:
    stats = folder_stats(args.dir)
    print(format_stats(stats))
    print(f"\nplot: {write_stats_plot(args.dir, stats)}")
    return 0


def _add_folder_commands(sub) -> None:
    """The ``build``, ``push`` and ``stats`` subcommands (dataset folders, ``ntp_datasets.publish``)."""
    build = sub.add_parser("build", help="build configs of a project into a dataset folder (Parquet + card)")
    build.add_argument("spec", help="project spec: a Lean project directory, a git URL@commit or an ntp-toolkit config JSON")
    build.add_argument("--out", required=True, help="the dataset folder to write")
    build.add_argument("--config", action="append", help="config to build (repeatable; default: all record and instruct_* configs)")
    build.add_argument("--num-proc", type=int, default=None, help="worker processes per config")
    build.add_argument("--force", action="store_true", help="replace --out even if it is not a previous ntp-datasets build")
    build.add_argument("--license", default=None, metavar="ID",
                       help="the card's licence, a Hub licence id (default: the one the projects' licence files name)")
    add_build_options(build)
    build.set_defaults(func=_build)
    export = sub.add_parser("export", help="build configs of a project and write them in ntp-toolkit's layout "
                                           "(OUT/<project>/TacticPrediction/<Module>.jsonl, ...)")
    export.add_argument("project", nargs="?", default=None,
                        help="project spec: a Lean project directory, a git URL@commit or an ntp-toolkit config JSON "
                             "(default: bundled sample)")
    export.add_argument("out", help="the directory to write (absent, empty or an earlier export)")
    export.add_argument("--layout", required=True, choices=[LAYOUT], help="the layout to write")
    export.add_argument("--config", action="append", choices=list(EXPORTED_CONFIGS),
                        help="config to export (repeatable; default: every config ntp-toolkit has a folder for)")
    export.add_argument("--num-proc", type=int, default=None, help="worker processes per config")
    add_build_options(export)
    export.set_defaults(func=_export)
    push = sub.add_parser("push", help="upload a dataset folder to the Hugging Face Hub")
    push.add_argument("dir", help="the dataset folder (from `ntp-datasets build`)")
    push.add_argument("--repo", required=True, help="Hub dataset repository, user/name")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.set_defaults(func=_push)
    stats = sub.add_parser("stats", help="print a dataset folder's row counts and distributions; write stats.png")
    stats.add_argument("dir", help="the dataset folder")
    stats.set_defaults(func=_stats)


_DESCRIPTION = (
    "Turn Lean 4 projects into Hugging Face datasets for neural theorem proving. "
    "A build prints one summary line per config (modules extracted, read from a cache or failed, errors, rows) "
    "and exits "
    "with status 1 when nothing could be built, or, with --strict, when any error was recorded."
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ntp-datasets`` command."""
    parser = argparse.ArgumentParser(prog="ntp-datasets", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"ntp-datasets {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    toolchain = sub.add_parser("toolchain", help="install or show the Lean toolchain")
    toolchain_sub = toolchain.add_subparsers(dest="action", required=True)
    toolchain_sub.add_parser("install", help="install the WebAssembly Lean").set_defaults(func=_toolchain_install)
    toolchain_sub.add_parser("info", help="show which Lean is used").set_defaults(func=_toolchain_info)
    preview = sub.add_parser("preview", help="build configs of a Lean project and print a few rows")
    preview.add_argument(
        "project", nargs="?", default=None,
        help="project spec: a Lean project directory, a git URL@commit or an ntp-toolkit config JSON (default: bundled sample)",
    )
    preview.add_argument("--config", action="append", help="builder config (repeatable)")
    preview.add_argument("--rows", type=int, default=3, help="rows to print per config")
    add_build_options(preview)
    preview.set_defaults(func=_preview)
    _add_folder_commands(sub)
    return parser


def main(argv: list[str] | None = None, *, extractor=None) -> int:
    """Entry point of the ``ntp-datasets`` command: errors of ntp-datasets (see
    ``ntp_datasets.errors``) are one ``error: ...`` line and exit status 1; anything else
    is a bug and stays a traceback. ``extractor``: the ``Extractor`` every build uses
    (default: a new one per command)."""
    args = build_parser().parse_args(argv)
    args.extractor = extractor
    try:
        return args.func(args)
    except Exception as exc:
        # datasets wraps errors raised while generating rows; report the user's problem.
        cause = _user_error(exc)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        return 1


def _user_error(exc: BaseException | None) -> NtpDatasetsError | None:
    """The ntp-datasets error behind ``exc`` (following ``__cause__``/``__context__``), if any."""
    while exc is not None:
        if isinstance(exc, NtpDatasetsError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
