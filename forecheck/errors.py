"""Exceptions and warnings used across forecheck.

The CLI maps them to exit codes: :class:`InputError` -> 2 (could not run);
:class:`InsufficientDataError` raised inside a check -> that check is reported
with ``status="skip"`` and the reason, never as a failure.
"""

from __future__ import annotations


class ForecheckError(Exception):
    """Base class of forecheck's own errors."""


class InputError(ForecheckError, ValueError):
    """Input that prevents analysis (unreadable file, missing column, invalid values).

    The message is shown to the user as is: say which file, column and rows, and
    what to do about it. ``details`` may carry a short table of offending rows
    (list of dicts) for renderers.
    """

    def __init__(self, message: str, *, details: list[dict] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.code = code


class UsageError(InputError):
    """Invalid option values or combinations (exit code 2)."""


class SettingsError(UsageError):
    """An analysis or read setting out of its allowed range, raised when the
    settings object is constructed; the message names the CLI flag."""


class InsufficientDataError(ForecheckError):
    """Too little data for one check; the runner turns it into ``status="skip"``."""


class ForecheckWarning(UserWarning):
    """Warnings emitted by forecheck."""
