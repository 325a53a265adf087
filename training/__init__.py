"""Training: tokenizer, streaming data, GPT trainer (reads any shard directory)."""
