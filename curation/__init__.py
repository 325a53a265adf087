"""Curation: raw text to clean, deduplicated Parquet shards."""
