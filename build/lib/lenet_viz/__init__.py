"""lenet_viz: LeNet-5 (modern and LeCun et al. 1998) for the LeNet-5 Explorer app.

A plain library with no Streamlit import: models, data, training, preprocessing,
checkpoints, figures and the CLI. Everything the app does can be done here.
"""

__version__ = "0.1.0"
