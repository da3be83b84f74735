"""What a training run records, batch by batch and epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """What a run records. Per iteration: loss, batch accuracy, learning rate, and the gradient
    L2 norm of each layer. Per epoch: train loss/accuracy (the mean over the epoch's batches,
    as the notebook reported) and test loss/accuracy on the whole test set."""

    iteration: list[int] = field(default_factory=list)
    epoch_float: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: dict[str, list[float]] = field(default_factory=dict)
    epochs: list[dict] = field(default_factory=list)

    def copy(self) -> History:
        return History(
            list(self.iteration),
            list(self.epoch_float),
            list(self.loss),
            list(self.accuracy),
            list(self.lr),
            {k: list(v) for k, v in self.grad_norm.items()},
            [dict(e) for e in self.epochs],
        )

    def since(self, start: int) -> History:
        """The per-iteration records from index `start` on, and every epoch: a reader that has
        the first `start` records copies only the new ones (a live view's poll)."""
        return History(
            self.iteration[start:],
            self.epoch_float[start:],
            self.loss[start:],
            self.accuracy[start:],
            self.lr[start:],
            {k: v[start:] for k, v in self.grad_norm.items()},
            [dict(e) for e in self.epochs],
        )

    def to_csv_rows(self) -> list[list]:
        """One row per iteration, with the epoch metrics on the epoch's last iteration."""
        layers = list(self.grad_norm)
        header = ["iteration", "epoch", "loss", "batch_accuracy", "lr"]
        header += [f"grad_norm_{name}" for name in layers]
        header += ["train_loss", "train_acc", "test_loss", "test_acc"]
        by_last_iteration = {e["iteration"]: e for e in self.epochs}
        rows = [header]
        for i, it in enumerate(self.iteration):
            epoch = by_last_iteration.get(it, {})
            row = [it, round(self.epoch_float[i], 5), self.loss[i], self.accuracy[i], self.lr[i]]
            row += [self.grad_norm[name][i] for name in layers]
            row += [epoch.get(k, "") for k in ("train_loss", "train_acc", "test_loss", "test_acc")]
            rows.append(row)
        return rows
