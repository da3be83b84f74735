"""What every command shares: exit codes, the error a user can fix, JSON output, number flags,
and a parser whose bad flag gives one `error:` line."""

from __future__ import annotations

import argparse
import json

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """An error the user can fix; printed as one `error:` line."""


def emit(payload: dict) -> None:
    print(json.dumps(payload), flush=True)


def number(text: str) -> float:
    """A float flag whose bad value reads as a usage error."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one `error:` line (no usage dump) and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")
