"""Training: what defines a run (`TrainConfig`, presets), the loop (`loop`: optimizers, learning
rates, one epoch, evaluation), distortions, one run with its history and weight snapshots
(`run`, `history`, `replay`), the paper's one-pattern SDLM pass (`pattern_steps`), and the
driver with its thread and queue (`runner`, `slots`).
"""
