"""Errors raised by media I/O, each mapped by the command line to a documented exit code."""

from __future__ import annotations


class MediaError(Exception):
    """A problem with a file; `path` names it in the one-line message."""

    def __init__(self, message: str, path: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        return self.message if self.path is None else f"{self.message} ({self.path})"


class InputError(MediaError):
    """The input is missing, unreadable, corrupt, empty or has no frames."""


class OutputError(MediaError):
    """The output cannot or must not be written (exists, unwritable, same as the input)."""


class UsageError(MediaError):
    """An option combination that cannot work (e.g. an unknown codec, a bad frame range)."""
