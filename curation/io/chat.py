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

from gristmill.messages import is_utf8

MESSAGES = "messages"
MESSAGES_FIELD = pa.field(MESSAGES, pa.list_(pa.struct([("role", pa.string()),
                                                         ("content", pa.string())])))


def normalized(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Only role and content are kept (the `messages` column's struct); other keys drop."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def render(messages: list[dict[str, str]]) -> str:
    """`role: content` per message, messages separated by a blank line."""
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)


def as_text(messages: Any) -> str:
    """A rejected conversation as JSON text, so a row without raw bytes loses nothing."""
    text = json.dumps(messages, ensure_ascii=False, default=str)
    return text if is_utf8(text) else json.dumps(messages, default=str)
