"""The one exception type for user mistakes in training (bad data, tokenizer, config, state)."""

from gristmill.errors import UserError


class TrainingError(UserError):
    """A problem the user can fix; the message is one line that names it and the fix."""
