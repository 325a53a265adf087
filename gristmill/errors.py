"""The user-facing error protocol both halves share.

The `gristmill` launcher prints an exception whose class sets `user_facing = True` as one
`error: ...` line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix; the message is one line that names it and the fix."""

    user_facing = True
