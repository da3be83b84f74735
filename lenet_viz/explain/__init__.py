"""Looking inside a trained net: activations and the C3 arithmetic (`inside`), the invariance
explorer, occlusion and gradient maps, the top digits per map, robustness curves, honest
confidence (`calibration`), the score on drawn digits, and results kept per model (`cache`).
"""
