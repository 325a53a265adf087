"""Corpus statistics and reports: `collect` (streaming, parallel, bounded memory), `compare`,
`html` (self-contained report), `text_summary` (terminal), `run_report` (a curation run's
own report). The JSON schema is documented in docs/stats.md."""
