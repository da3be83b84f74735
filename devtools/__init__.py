"""Tools for developing the app, shared by tests/browser, benchmarks and scripts (not shipped)."""
