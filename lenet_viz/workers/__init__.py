"""Training away from the web server: worker processes by default, a Ray cluster when set.

- `host`: what a worker (or Ray actor) holds for one trainer, `HostedRuns`.
- `pool`: the embedded pool of worker processes (`WorkerPool`, `WorkerLost`).
- `ray_backend`: each trainer's runs as a Ray actor (`LENET_VIZ_RAY_ADDRESS`).
- `proxy`: `RemoteTrainer`, the `Trainer` a page holds, with the same methods.
- `launch`: `start_run`, what a Start button calls, on the backend the server was set up with.

Nothing starts at import: the pool's first worker starts with the first run.
"""
