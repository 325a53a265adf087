"""Quality scoring: a hashed n-gram logistic-regression classifier (train your own with
`gristmill quality train`, or use the bundled default) behind the `quality` step."""
