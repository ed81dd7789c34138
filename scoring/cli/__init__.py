"""``psyscore`` command line: thin — parse, call the library, print.

Exit codes: 0 success, 1 an error-level problem (invalid definition, bad cells in strict mode, failed
check), 2 a usage error (unknown option, missing file, unknown instrument).

Each command group lives in its own module of this package exposing ``register(subparsers)`` and an
integer ``ORDER`` (position in ``psyscore --help``); modules are discovered, so adding a command group
means adding one module.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from scoring._version import __version__
from scoring.errors import PsyscoreError, UnknownInstrumentError

if TYPE_CHECKING:
    from scoring.definitions.library import Library


def command_modules() -> list[ModuleType]:
    """Every module of this package that registers commands, in ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            found.append(module)
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(PsyscoreError):
    """Bad command-line usage (exit 2)."""


def add_definitions_option(p: argparse.ArgumentParser) -> None:
    """The ``--definitions DIR`` option every command that reads definitions takes."""
    p.add_argument("--definitions", action="append", type=Path, metavar="DIR",
                   help="also load definitions from this folder, in addition to the bundled ones and "
                        "PSYSCORE_INSTRUMENTS_PATH (repeatable)")


def cli_library(folders: Sequence[Path] | None = None) -> Library:
    """The configured library plus the ``--definitions`` folders (a missing folder is a usage error)."""
    from scoring.definitions.library import Settings, load_library

    extra = list(folders or [])
    for folder in extra:
        if not folder.is_dir():
            raise UsageError(f"no such folder: {folder}")
    settings = Settings.from_env()  # PSYSCORE_CUTOFFS applies with --definitions folders too
    if not extra:
        lib = load_library(settings=settings)
    else:
        dirs = [d for d in settings.all_instrument_dirs if d.is_dir()]
        lib = load_library([*dirs, *extra], settings=settings)
    refused = [i.message for i in lib.report.issues if i.code == "E230"]
    if refused:  # a deployment's cut-off choice that cannot be honoured: nothing is scored at another value
        raise UsageError("; ".join(refused))
    return lib


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="psyscore",
        description="Open psychometric instrument library and scoring engine.",
        epilog="Run 'psyscore COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"psyscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, UnknownInstrumentError, FileNotFoundError) as exc:
        print(f"psyscore {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PsyscoreError as exc:
        print(f"psyscore {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
