"""Checkpoints: what a file holds, written and decoded without trusting it (`format`), and
saving, loading and listing them (`store`).
"""
