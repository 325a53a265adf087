"""Chat rows: a conversation of `{role, content}` messages instead of a text field.

The reader checks each conversation (a malformed one is rejected as `read:<problem>`),
keeps it as the `messages` column that training's chat loader reads, and renders it as
the `text` column, so that steps working on text (length, dedup) see the whole
conversation. The rendering is for those steps and for people; the conversation itself is
`messages` (see docs/shard-format.md#chat-rows).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

ROLES = ("system", "user", "assistant")
MESSAGES = "messages"
MESSAGES_FIELD = pa.field(MESSAGES, pa.list_(pa.struct([("role", pa.string()),
                                                         ("content", pa.string())])))


def problem(messages: Any) -> str | None:
    """The rule a conversation breaks (a `read:` rejection), or None when it is usable."""
    if messages is None:
        return "missing_messages"
    if not isinstance(messages, list):
        return "messages_not_a_list"
    if not messages:
        return "empty_conversation"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") is None:
            return "message_without_role"
        if message["role"] not in ROLES:
            return "unknown_role"
        if not isinstance(message.get("content"), str):
            return "content_not_string"
        if not _utf8(message["content"]):
            return "invalid_utf8"  # JSON can escape half a UTF-16 pair; Parquet cannot hold it
    if not any(m["role"] == "assistant" for m in messages):
        return "no_assistant_turn"
    return None


def normalized(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Only role and content are kept (the `messages` column's struct); other keys drop."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def render(messages: list[dict[str, str]]) -> str:
    """`role: content` per message, messages separated by a blank line."""
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)


def as_text(messages: Any) -> str:
    """A rejected conversation as JSON text, so a row without raw bytes loses nothing."""
    text = json.dumps(messages, ensure_ascii=False, default=str)
    return text if _utf8(text) else json.dumps(messages, default=str)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
