"""Pipeline steps, one small module each; `curation.registry` finds them by name."""
