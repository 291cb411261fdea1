"""User-facing errors: each names the problem and the fix; the CLI prints them without a traceback.

:func:`describe` is the one place that turns any exception into ``(exit status, one-line message)``:
status 2 for bad input (:class:`WagError` and the OS/decoding errors a user's path or file causes),
status 1 for a failure of wag itself (with a hint to rerun with ``--debug`` or ``WAG_DEBUG=1``). A full disk is
a bad input too (status 2, naming the path when known). :func:`excerpt` keeps a message from echoing more than a
short piece of the input that caused it.
"""

from __future__ import annotations

import errno
import os
import re

#: Exit status of a bad input (a user error) and of an internal failure.
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
#: Exit status when the reader of our output went away (``wag ... | head``): a process killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141
#: Characters of user input a message may quote (:func:`excerpt`).
EXCERPT_CHARS = 80


class WagError(Exception):
    """Base class of errors caused by user input (params, files, names), not by bugs."""


class UsageError(WagError):
    """A command line that does not parse (unknown option, bad option value)."""


class WagWarning(UserWarning):
    """A change the user should know about (e.g. duplicate concepts merged); printed as one ``warning:`` line."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def one_line(text: str) -> str:
    """Collapse a (possibly multi-line) message to one line: lines joined by a space, terminal colour codes removed."""
    return " ".join(part.strip() for part in _ANSI.sub("", str(text)).splitlines() if part.strip())


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (with the total length): what a message may quote of user input.

    The repr of a huge input (a YAML alias bomb expands to megabytes) is never built in full for the common
    containers: only their first items are shown.
    """
    text = _short_repr(value, limit)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({_size(value)})"


def _short_repr(value: object, limit: int) -> str:
    """A repr of ``value`` that stops growing past about ``2 * limit`` characters (containers: their first items)."""
    if isinstance(value, (dict, list, tuple)):
        items = list(value.items()) if isinstance(value, dict) else list(value)
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        out = opening
        for i, item in enumerate(items):
            if len(out) > 2 * limit:
                return out + ", ..." + closing
            budget = max(1, 2 * limit - len(out))
            text = (
                f"{_short_repr(item[0], budget)}: {_short_repr(item[1], budget)}"
                if isinstance(value, dict)
                else _short_repr(item, budget)
            )
            out += (", " if i else "") + text
        return out + closing
    text = repr(value[: limit * 2] if isinstance(value, (str, bytes)) else value)
    return text[: limit * 2]


def _size(value: object) -> str:
    if isinstance(value, (str, bytes)):
        return f"{len(value):,} characters"
    if isinstance(value, (dict, list, tuple)):
        return f"{len(value):,} items"
    return type(value).__name__


def debug_enabled() -> bool:
    """Whether ``WAG_DEBUG`` asks for full tracebacks."""
    return os.environ.get("WAG_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def describe(exc: BaseException) -> tuple[int, str]:
    """Exit status and one-line message (without the ``error:`` prefix) for an exception."""
    if isinstance(exc, WagError):
        return EXIT_BAD_INPUT, one_line(str(exc))
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {exc.filename}" if exc.filename is not None else ""
        return EXIT_BAD_INPUT, one_line(
            f"no space left on the device{where} ({exc.strerror or exc}); free some space or write to another folder"
        )
    if isinstance(exc, UnicodeDecodeError):
        return EXIT_BAD_INPUT, one_line(f"an input file is not UTF-8 text ({exc}); re-save it as UTF-8")
    for kind, what in (
        (FileNotFoundError, "does not exist; check the path"),
        (PermissionError, "is not accessible (permission denied); fix its permissions or choose another path"),
        (IsADirectoryError, "is a folder where a file was expected; give a file path"),
        (NotADirectoryError, "has a file where a folder was expected; give a folder path"),
        (FileExistsError, "already exists; remove it or choose another path"),
    ):
        if isinstance(exc, kind):
            path = exc.filename if exc.filename is not None else "a path"
            return EXIT_BAD_INPUT, one_line(f"{path} {what}")
    return EXIT_FAILURE, one_line(
        f"internal error: {type(exc).__name__}: {exc}; rerun with --debug or WAG_DEBUG=1 for the traceback"
    )
