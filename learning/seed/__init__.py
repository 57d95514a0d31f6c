"""The seed's log format (docs/operations.md#importing-the-seeds-logs): `format` (one line's shape, what the
importer stores), `files` (import and export of a creator's log files), `state` (the per-fan state file)."""
