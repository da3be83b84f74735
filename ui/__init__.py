"""The pages' shared widgets (importable; pages/ holds the page scripts)."""
