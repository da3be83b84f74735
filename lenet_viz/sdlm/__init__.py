"""The paper's optimizer, the stochastic diagonal Levenberg-Marquardt method (LeCun et al. 1998,
p.10 and Appendix C): the torch optimizer (`optimizer`) and its fast one-pattern step in numpy
(`fast`).
"""
