"""The pages' shared widgets (importable; pages/ holds only page scripts)."""
