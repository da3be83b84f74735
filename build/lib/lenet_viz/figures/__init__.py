"""Plotly figures for the app, built by pure functions from plain data (no Streamlit here).

- `training`: training curves, confusion matrix, misclassified digits, comparisons,
  gradient norms and the architecture diagram. `inside`: what each layer sees.
"""
