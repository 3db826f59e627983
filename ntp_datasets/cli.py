"""Command line: ``ntp-datasets toolchain install|info`` and ``ntp-datasets preview``."""

from __future__ import annotations

import argparse
import sys

from ntp_datasets.toolchain import ToolchainError, find_toolchain, install_wasm_toolchain, ntp_home


def _toolchain_install(args) -> int:
    toolchain = install_wasm_toolchain()
    print(f"{toolchain.version}\n  at {toolchain.location}")
    return 0


def _toolchain_info(args) -> int:
    toolchain = find_toolchain(install=False)
    print(f"kind:     {toolchain.kind}\nversion:  {toolchain.version}\nlocation: {toolchain.location}")
    print(f"home:     {ntp_home()}")
    return 0


def _preview(args) -> int:
    import ntp_datasets

    for config in args.config or ["tactic_prediction", "full_proof"]:
        ds = ntp_datasets.load_dataset(config, project=args.project)
        train = ds["train"]
        print(f"\n=== {config}: {train.num_rows} rows; first {min(args.rows, train.num_rows)} ===")
        for row in train.select(range(min(args.rows, train.num_rows))):
            for key, value in row.items():
                if isinstance(value, str) and len(value) > 200:
                    value = "..." + value[-200:]
                print(f"  {key}: {value!r}")
            print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ntp-datasets`` command."""
    parser = argparse.ArgumentParser(prog="ntp-datasets", description=__doc__)
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
    preview.set_defaults(func=_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ntp-datasets`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
