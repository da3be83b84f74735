"""The LeNet-5 Explorer benchmark suite: `make bench` (`python -m benchmarks`).

Measures, in one run on one machine: training throughput of three pipelines (the notebook's
DataLoader, a bare PyTorch loop, the lenet_viz Trainer), the time to 99% test accuracy of
`train --preset fast`, the full test-set evaluation, the Draw page's draw-to-prediction latency,
the app's cold start, one rerun of the Draw page, how far training is from the CPU's peak, the
server's CPU time per poll of the live panels against the run's length, and training in the app
(Streamlit on one core, Chromium on the other) against the library alone.
It prints a table, writes it with every raw number to benchmarks/results/latest.json, and keeps
the latest table in benchmarks/RESULTS.md. Benchmarks are not tests: nothing here fails on time.
"""
