"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from gristmill.errors import UserError


class GristmillError(UserError):
    """Base class for curation problems caused by input or configuration, not by a bug."""


class ConfigError(GristmillError):
    """The pipeline YAML (or an override) is invalid; the message names file, key and fix."""


class InputFileError(GristmillError):
    """A whole input file cannot be read (truncated archive, missing column, ...)."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
