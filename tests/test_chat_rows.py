"""Chat rows through curation: `input.messages_field` reads `[{role, content}]`
conversations from JSONL and Parquet, rejects malformed ones at read, scrubs PII per
message, deduplicates and counts the rendered conversation, refuses plain-text steps, and
writes shards that training's chat loader reads as they are."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.io.chat import render
from tests.support.curation import manifest, read_rows, write_jsonl, write_pipeline

STEPS = ["pii", "exact_dedup", "minhash_dedup", {"length": {"min_words": 6}}]
STORY = ("the miller kept the old stone wheel turning through every season of the year and "
         "the village brought him barley oats and rye from the fields along the river so "
         "that nobody in the valley ever went without bread when the snow came down hard")


def talk(*turns: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "content": content} for role, content in turns]


CONVERSATIONS = [
    talk(("system", "Answer briefly."), ("user", "Write to jane.roe@example.org for me"),
         ("assistant", "Done, I wrote to jane.roe@example.org and to 536-22-1234 nobody.")),
    talk(("user", "Tell me about the mill"), ("assistant", STORY)),
    talk(("user", "Tell me about the mill"), ("assistant", STORY)),  # exact copy
    talk(("user", "Tell me about the mill"), ("assistant", STORY + " again")),  # near copy
    talk(("user", "hi"), ("assistant", "hello")),  # 4 words rendered: too short
    talk(("user", "What grain makes the darkest bread"), ("assistant", "rye makes dark bread")),
]
KEPT = ["0", "1", "5"]  # ids by position (derived ids end in the line or row)


def curate_chat(curate, tmp_path: Path, inputs: Path, steps: list | None = None) -> Path:
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "chat.yaml", str(inputs), out,
                              STEPS if steps is None else steps,
                              input={"messages_field": "messages"})
    assert curate(pipeline) == 0
    return out


def kept_and_rejected(out: Path) -> tuple[list[dict], list[dict]]:
    kept = [row for path in sorted(out.glob("part-*.parquet")) for row in read_rows(path)]
    return kept, read_rows(out / "rejected")


def check_chat_output(out: Path, first_row: int) -> list[dict]:
    kept, rejected = kept_and_rejected(out)
    assert [row["id"].rsplit(":", 1)[1] for row in kept] == \
        [str(int(i) + first_row) for i in KEPT]
    reasons = {row["id"].rsplit(":", 1)[1]: row["reason"] for row in rejected}
    assert reasons == {str(2 + first_row): "exact_dedup:duplicate",
                       str(3 + first_row): "minhash_dedup:near_duplicate",
                       str(4 + first_row): "length:too_few_words"}
    counts = manifest(out)["counts"]
    assert (counts["input"], counts["kept"], counts["rejected"]) == (6, 3, 3)
    scrubbed = kept[0]["messages"]
    assert [m["content"] for m in scrubbed] == [
        "Answer briefly.", "Write to <EMAIL> for me",
        "Done, I wrote to <EMAIL> and to <US_SSN> nobody."]
    assert (kept[0]["pii_email"], kept[0]["pii_us_ssn"], kept[0]["pii_count"]) == (2, 1, 3)
    for row in kept:  # the text is the scrubbed conversation, and length counted it
        assert row["text"] == render(row["messages"])
        assert (row["n_chars"], row["n_words"]) == (len(row["text"]), len(row["text"].split()))
    assert kept[1]["messages"] == CONVERSATIONS[1]
    assert kept[1]["text"] == f"user: Tell me about the mill\n\nassistant: {STORY}"
    assert kept[1]["exact_dup_copies"] == 2 and kept[1]["dup_cluster_size"] == 2
    return kept


def test_jsonl_chat_rows_through_pii_dedup_and_length(tmp_path: Path, curate) -> None:
    source = write_jsonl(tmp_path / "in" / "chats.jsonl",
                         [{"messages": m, "lang": "en"} for m in CONVERSATIONS])
    check_chat_output(curate_chat(curate, tmp_path, source), first_row=1)


def test_parquet_chat_rows_as_hf_datasets_write_them(tmp_path: Path, curate) -> None:
    # datasets orders struct fields by name: content before role; extra keys are dropped
    kind = pa.list_(pa.struct([("content", pa.string()), ("role", pa.string()),
                               ("name", pa.string())]))
    rows = [[{**m, "name": None} for m in conversation] for conversation in CONVERSATIONS]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"messages": pa.array(rows, kind)}), tmp_path / "in" / "c.parquet")
    out = curate_chat(curate, tmp_path, tmp_path / "in" / "c.parquet")
    check_chat_output(out, first_row=0)
    schema = pq.read_schema(out / "part-00000.parquet")
    assert schema.field("messages").type == pa.list_(
        pa.struct([("role", pa.string()), ("content", pa.string())]))


MALFORMED = [
    ({"text": "no messages here"}, "read:missing_messages"),
    ({"messages": "user: hi"}, "read:messages_not_a_list"),
    ({"messages": []}, "read:empty_conversation"),
    ({"messages": [{"content": "hi"}, {"role": "assistant", "content": "yo"}]},
     "read:message_without_role"),
    ({"messages": ["hi", {"role": "assistant", "content": "yo"}]}, "read:message_without_role"),
    ({"messages": [{"role": "bot", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
     "read:unknown_role"),
    ({"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "yo"}]},
     "read:content_not_string"),
    ({"messages": [{"role": "user", "content": 7}, {"role": "assistant", "content": "yo"}]},
     "read:content_not_string"),
    ({"messages": talk(("system", "Be kind."), ("user", "hi"))}, "read:no_assistant_turn"),
    ('{"messages": [{"role": "user", "content": "\\ud800"}, '
     '{"role": "assistant", "content": "yo"}]}', "read:invalid_utf8"),
]


def test_each_malformed_conversation_is_rejected_with_its_problem(tmp_path: Path,
                                                                  curate) -> None:
    good = {"messages": talk(("user", "Which wheel turns the stones"),
                             ("assistant", "the water wheel turns them"))}
    source = write_jsonl(tmp_path / "in" / "bad.jsonl", [good, *(r for r, _ in MALFORMED)])
    out = curate_chat(curate, tmp_path, source)
    kept, rejected = kept_and_rejected(out)
    assert [row["id"] for row in kept] == ["bad.jsonl:1"]
    assert {row["id"]: row["reason"] for row in rejected} == \
        {f"bad.jsonl:{i}": reason for i, (_, reason) in enumerate(MALFORMED, start=2)}
    assert all(row["raw"] for row in rejected)  # the line itself is kept
    counts = manifest(out)["counts"]
    assert (counts["input"], counts["kept"], counts["rejected"]) == (1 + len(MALFORMED), 1,
                                                                     len(MALFORMED))


def test_a_malformed_parquet_conversation_keeps_its_messages_as_text(tmp_path: Path,
                                                                     curate) -> None:
    rows = [talk(("user", "hi there friend"), ("assistant", "good day to you miller")),
            [{"role": "user", "content": None}, {"role": "assistant", "content": "yo"}]]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"messages": rows}), tmp_path / "in" / "c.parquet")
    kept, rejected = kept_and_rejected(curate_chat(curate, tmp_path, tmp_path / "in",
                                                   steps=[]))
    assert [row["id"] for row in kept] == ["c.parquet:0"]
    assert [(row["id"], row["reason"]) for row in rejected] == \
        [("c.parquet:1", "read:content_not_string")]
    assert rejected[0]["text"] == ('[{"role": "user", "content": null}, '
                                   '{"role": "assistant", "content": "yo"}]')


@pytest.mark.parametrize("steps", [["cleanup"], ["length", "gopher_quality", "c4"]])
def test_a_step_that_needs_plain_text_is_refused(tmp_path: Path, curate, capsys,
                                                 steps: list[str]) -> None:
    source = write_jsonl(tmp_path / "in" / "c.jsonl", [{"messages": CONVERSATIONS[1]}])
    pipeline = write_pipeline(tmp_path / "chat.yaml", str(source), tmp_path / "out", steps,
                              input={"messages_field": "messages"})
    assert curate(pipeline) == 2
    err = capsys.readouterr().err.strip()
    plain = [s for s in steps if s != "length"]
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert all(f"'{s}'" in err for s in plain) and "plain text" in err
    assert "chat rows take only exact_dedup, length, minhash_dedup, pii" in err
    assert not (tmp_path / "out").exists()


def test_a_parquet_without_text_but_with_messages_says_how_to_read_it(tmp_path: Path,
                                                                      curate, capsys) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"messages": [CONVERSATIONS[1]]}), tmp_path / "in" / "c.parquet")
    pipeline = write_pipeline(tmp_path / "plain.yaml", str(tmp_path / "in"), tmp_path / "out")
    assert curate(pipeline) != 0
    assert "(chat rows: set input.messages_field)" in capsys.readouterr().err


def test_chat_jsonl_read_as_text_says_how_to_read_it(tmp_path: Path, curate, capsys) -> None:
    source = write_jsonl(tmp_path / "in" / "c.jsonl", [{"messages": m} for m in CONVERSATIONS])
    assert curate(write_pipeline(tmp_path / "plain.yaml", str(source), tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert "every record (6) was rejected as read:missing_text" in err
    assert "chat rows (a messages list): run again with input.messages_field=messages" in err


def test_trainings_chat_loader_reads_the_kept_shards(tmp_path: Path, curate) -> None:
    from tests.support.training import char_tokenizer, write_shards
    from training.data.chat_tokens import has_messages
    from training.data.loader import DataConfig, TrainLoader
    from training.finetune.chat import with_chat_tokens
    from training.model import IGNORE

    rows = [talk(("system", "Answer in words."), ("user", f"What is {n} and {n}?"),
                 ("assistant", f"It is {word}.")) for n, word in
            [("one", "two"), ("two", "four"), ("three", "six"), ("four", "eight")]]
    source = write_jsonl(tmp_path / "in" / "c.jsonl", [{"messages": m} for m in rows])
    out = curate_chat(curate, tmp_path, source, steps=["pii", "exact_dedup", "split"])
    assert (out / "train").is_dir()
    # `data.format: auto` trains on the conversations, though the shards also have `text`
    assert has_messages(out)
    assert not has_messages(write_shards(tmp_path / "plain", ["just text"])[0].parent)
    tokenizer = with_chat_tokens(char_tokenizer())
    config = DataConfig([str(out)], 256, 1, chat=True, pack=False, text_column="messages",
                        shuffle=False)
    x, y = next(iter(TrainLoader(config, tokenizer)))
    learned = tokenizer.decode(y[y != IGNORE].tolist(), skip_special_tokens=False)
    assert learned.startswith("It is ") and learned.endswith(".<|end|>")
    assert "What is" not in learned and "Answer" not in learned
    prompt = tokenizer.decode(x[0].tolist(), skip_special_tokens=False)
    assert prompt.startswith("<|system|>Answer in words.<|end|><|user|>What is ")
