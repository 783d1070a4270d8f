"""Activities: everything with I/O (store, rules engine, calendar). Grouped by dependency."""
