"""The one exception type for user mistakes in training (bad data, tokenizer, config, state).

The `gristmill` launcher prints any exception whose class sets `user_facing = True` as a
single `error: ...` line; training does not import curation, so it has its own class.
"""


class TrainingError(Exception):
    """A problem the user can fix; the message is one line that names it and the fix."""

    user_facing = True
