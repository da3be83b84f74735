"""Streamlit building blocks that several pages share (pages/ holds only page scripts)."""
