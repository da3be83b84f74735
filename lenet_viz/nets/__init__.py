"""The nets: the modern LeNet-5 and the 1998 one (Table I, trainable subsampling, the scaled
tanh, RBF output), what defines them (`ModelConfig`), their activations, the paper's tables,
and `build_model`. The lowest layer: it imports nothing else of lenet_viz.
"""
