"""The digits: MNIST and Fashion-MNIST's IDX files (reading, checking, splits, network inputs),
fetching them, pictures a user draws or uploads and their preprocessing, the planar
distortions, and digits drawn with pen strokes (`drawn/`).
"""
