"""Pipeline steps, one small module each; `curation.core.registry` finds them by name."""
