"""Errors that stop a gate from deciding (exit code 2)."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: a missing or unreadable file, an invalid option or config.

    The message is one line that says what is wrong, where, and how to fix it;
    the CLI prints it on stderr and exits 2, never with a traceback.
    """
