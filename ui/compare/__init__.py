"""The Compare page's parts: shared and per-run settings, experiments and setup links, run
controls, the live panel and summary.
"""
