"""Reading inputs and writing shards."""
