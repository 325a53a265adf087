"""The chat template: conversations to token ids, and which of them the model learns.

A conversation is a list of messages `{"role": "system" | "user" | "assistant",
"content": str}`. Each message becomes its role's marker, its content, and `<|end|>`:

    <|system|>You answer in one word.<|end|><|user|>Capital of Vel?<|end|><|assistant|>Ostra<|end|>

The markers are special tokens added to the tokenizer, and content is encoded with special
tokens read as plain text, so no text can produce a marker. Supervised fine-tuning learns
only what the assistant writes: its content tokens and its `<|end|>` (so the model learns
to end its turn), never the system or user turns nor the markers. A reply is generated
from the conversation followed by `<|assistant|>` and stops at `<|end|>`. `CHAT_TEMPLATE`
is the same template in Jinja, for `transformers`' `apply_chat_template`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tokenizers import AddedToken, Tokenizer

from gristmill.messages import ROLES, problem
from training.errors import TrainingError

MARKERS = {role: f"<|{role}|>" for role in ROLES}
END = "<|end|>"
CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|' + message['role'] + '|>' + "
                 "message['content'] + '<|end|>' }}{% endfor %}"
                 "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")


def with_chat_tokens(tokenizer: Tokenizer) -> Tokenizer:
    """A copy of `tokenizer` with the markers and `<|end|>` as special tokens (new ids
    after the existing ones; the same tokenizer always gets the same ids)."""
    chat = Tokenizer.from_str(tokenizer.to_str())
    chat.add_special_tokens([AddedToken(t, special=True, normalized=False)
                             for t in (*MARKERS.values(), END)])
    return chat


def is_chat(tokenizer: Tokenizer) -> bool:
    return all(tokenizer.token_to_id(t) is not None for t in (*MARKERS.values(), END))


class ChatEncoder:
    """Renders conversations as token ids with the template above."""

    def __init__(self, tokenizer: Tokenizer):
        if not is_chat(tokenizer):
            raise TrainingError("this tokenizer has no chat tokens (<|user|>, <|end|>, ...): "
                                "fine-tune the model with data.format: chat first")
        self.text = Tokenizer.from_str(tokenizer.to_str())
        self.text.encode_special_tokens = True  # content never becomes a marker
        self.marker = {role: tokenizer.token_to_id(t) for role, t in MARKERS.items()}
        self.end = tokenizer.token_to_id(END)

    def encode(self, messages: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of a checked conversation and, per id, whether it is trained on."""
        contents = self.text.encode_batch_fast([m["content"] for m in messages],
                                               add_special_tokens=False)
        ids: list[int] = []
        trained: list[bool] = []
        for message, content in zip(messages, contents, strict=True):
            learn = message["role"] == "assistant"
            ids += [self.marker[message["role"]], *content.ids, self.end]
            trained += [False] + [learn] * (len(content.ids) + 1)
        return np.array(ids, dtype=np.int64), np.array(trained, dtype=bool)

    def prompt(self, messages: list[dict[str, Any]]) -> list[int]:
        """The conversation so far and the assistant's marker: what a reply continues."""
        ids = self.encode(messages)[0].tolist() if messages else []
        return [*ids, self.marker["assistant"]]


def check_messages(messages: Any, where: str) -> list[dict[str, Any]]:
    """`messages` if it is a conversation this template can train on, else an error that
    names `where` (the file and row) and the problem."""
    found = problem(messages)
    if found:
        raise TrainingError(f"{where}: {found.detail}")
    return messages
