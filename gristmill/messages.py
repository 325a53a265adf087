"""Chat rows in the shard contract: a `messages` list of `{role, content}` dicts, roles
system, user and assistant, at least one assistant turn. Curation rejects a row that breaks
a rule (as `read:<rule>`); training refuses it with the rule's detail and the row."""

from __future__ import annotations

from typing import Any, NamedTuple

ROLES = ("system", "user", "assistant")


class Problem(NamedTuple):
    rule: str  # a short name, e.g. unknown_role
    detail: str  # what is wrong, in words


def problem(messages: Any) -> Problem | None:
    """The rule a conversation breaks, or None when it is usable."""
    if not isinstance(messages, list) or not messages:
        rule = ("missing_messages" if messages is None else
                "messages_not_a_list" if not isinstance(messages, list) else
                "empty_conversation")
        return Problem(rule, f"messages is {_short(messages)}, not a non-empty list of "
                             "{role, content} messages")
    for i, message in enumerate(messages):
        found = _message_problem(message, f"messages[{i}]")
        if found:
            return found
    if not any(m["role"] == "assistant" for m in messages):
        return Problem("no_assistant_turn", "the conversation has no assistant message, so "
                                            "there is nothing to learn from it")
    return None


def _message_problem(message: Any, where: str) -> Problem | None:
    if not isinstance(message, dict) or message.get("role") is None:
        return Problem("message_without_role", f"{where} has no role")
    if message["role"] not in ROLES:
        return Problem("unknown_role", f"{where} has role {message['role']!r}; roles are "
                                       f"{', '.join(ROLES)}")
    content = message.get("content")
    if not isinstance(content, str):
        return Problem("content_not_string", f"{where} content is {_short(content)}, not a "
                                             "string")
    if not is_utf8(content):  # JSON can escape half a UTF-16 pair; Parquet cannot hold it
        return Problem("invalid_utf8", f"{where} content holds half of a UTF-16 pair")
    return None


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
