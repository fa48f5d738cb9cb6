"""Exceptions shared across footfall."""


class CommandError(Exception):
    """A command failed in a way the user can fix; the message says how."""
