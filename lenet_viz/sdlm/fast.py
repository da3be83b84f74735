"""One SDLM step per pattern on the faithful LeNet-5, fast: the paper's training loop (p.10).

The paper updates the weights after every single pattern: 60,000 sequential steps per pass.
Through autograd and `torch.optim`, each step costs ~6 ms of CPU, almost all of it per-call
overhead (about 150 small tensor operations, the autograd graph, hooks and records), so a pass
took minutes. `PatternSDLM` does the same step with a hand-written forward and backward pass
for this one net and one pattern:

- every intermediate array is preallocated once and written in place (`out=`), in numpy: on
  arrays this small its per-call overhead is a fraction of torch's (the arrays are views of
  the torch parameters' memory, so the model itself is what trains);
- the convolutions are matrix products on the unfolded input (C1: 6x25 by 25x784; C3: 16x150
  by 150x100, with Table I's missing connections held at exactly zero);
- all 60,000 weights live in one flat tensor (the model's parameters are views into it), and
  so do their gradients and their step sizes eps_k = eta / (mu + h_kk): the whole SDLM update
  is one product and one subtraction over all of them. A masked C3 weight has eps_k = 0, so
  it never moves;
- C1's inputs are unfolded for a whole tick of patterns in one call; no autograd; one thread.

The step is the same arithmetic as `SDLM.step` after `model.loss(model(x), y).backward()`;
`tests/test_sdlm.py` checks they agree to float32 rounding. `python -m benchmarks.sdlm_pass`
times both paths: 1.1 ms against 6.0 ms of CPU per pattern, 66 s against 358 s per pass.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lenet_viz.nets.activations import LeCunTanh
from lenet_viz.nets.faithful import FaithfulLeNet5, TrainableSubsampling
from lenet_viz.nets.model import MaskedConv2d

_A = LeCunTanh.amplitude
_S = LeCunTanh.slope


def supports_fast_path(model: nn.Module) -> bool:
    """Whether `PatternSDLM` can train this model: the faithful net with the paper's squashing."""
    if not isinstance(model, FaithfulLeNet5):
        return False
    layers = model.layers
    squashers = [layers[name][-1] for name in ("C1", "S2", "C3", "S4", "C5", "F6")]
    return all(isinstance(m, LeCunTanh) for m in squashers)


class PatternSDLM:
    """SDLM with one pattern per step, for `FaithfulLeNet5` (see the module docstring).

    `set_curvature(h, mu)` takes h_kk per parameter (the dict `diagonal_gauss_newton` returns),
    `set_rate(eta)` the global rate; `train(images, labels)` then makes one update per pattern.
    The model's parameters become views into one flat tensor: the model, its `state_dict` and
    any optimizer built on it keep working as before.
    """

    def __init__(self, model: FaithfulLeNet5):
        if not supports_fast_path(model):
            raise ValueError(
                "PatternSDLM trains the faithful LeNet-5 with the lecun_tanh squashing"
            )
        self.model = model
        layers = model.layers
        self.c1: nn.Conv2d = layers["C1"][0]
        self.s2: TrainableSubsampling = layers["S2"][0]
        self.c3: nn.Conv2d = layers["C3"][0]
        self.s4: TrainableSubsampling = layers["S4"][0]
        self.c5: nn.Conv2d = layers["C5"][0]
        self.f6: nn.Linear = layers["F6"][0]
        self.codes = layers["output"].codes.detach().clone()  # (10, 84), Fig. 3
        self.j = float(model.config.rbf_j)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self._flatten_parameters()
        self._allocate()

    # -- set-up --------------------------------------------------------------------------
    @torch.no_grad()
    def _flatten_parameters(self) -> None:
        sizes = [p.numel() for p in self.params]
        self.flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        self.grad = torch.zeros_like(self.flat)
        self.eps = torch.zeros_like(self.flat)
        self.views: dict[nn.Parameter, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        offset = 0
        for p, size in zip(self.params, sizes, strict=True):
            p.data = self.flat[offset : offset + size].view(p.shape)
            self.views[p] = (
                p.data,
                self.grad[offset : offset + size].view(p.shape),
                self.eps[offset : offset + size].view(p.shape),
            )
            offset += size
        if isinstance(self.c3, MaskedConv2d):
            self.c3_mask = self.c3.mask.expand_as(self.c3.weight).reshape(16, -1).clone()
        else:
            self.c3_mask = torch.ones_like(self.c3.weight).reshape(self.c3.out_channels, -1)

    def _allocate(self) -> None:
        """numpy views of the flat weights, gradients and step sizes, and every buffer a step
        writes: numpy's per-call overhead on arrays this small is a fraction of torch's."""
        e = partial(np.empty, dtype=np.float32)
        w, g = self.flat.numpy(), self.grad.numpy()
        offsets, offset = {}, 0
        for p in self.params:
            offsets[p] = (offset, offset + p.numel())
            offset += p.numel()

        def views(p, shape=None):
            lo, hi = offsets[p]
            shape = shape or tuple(p.shape)
            return w[lo:hi].reshape(shape), g[lo:hi].reshape(shape)

        c3_in = self.c3.in_channels * 25
        self.w1, self.g_w1 = views(self.c1.weight, (6, 25))
        self.b1, self.g_b1 = views(self.c1.bias, (6, 1))
        self.c2, self.g_c2 = views(self.s2.coefficient, (6, 1, 1))
        self.b2, self.g_b2 = views(self.s2.bias, (6, 1, 1))
        self.w3, self.g_w3 = views(self.c3.weight, (16, c3_in))
        self.b3, self.g_b3 = views(self.c3.bias, (16, 1))
        self.c4, self.g_c4 = views(self.s4.coefficient, (16, 1, 1))
        self.b4, self.g_b4 = views(self.s4.bias, (16, 1, 1))
        self.w5, self.g_w5 = views(self.c5.weight, (120, 400))
        self.b5, self.g_b5 = views(self.c5.bias)
        self.w6, self.g_w6 = views(self.f6.weight)
        self.b6, self.g_b6 = views(self.f6.bias)
        self.codes_np = self.codes.numpy()
        # C3's unfolded input: column (i, u, v) of output position (r, c) is S2 map i at
        # (r + u, c + v): one gather with these indices per pattern.
        maps, rows = np.meshgrid(np.arange(self.c3.in_channels), np.arange(25), indexing="ij")
        u, v = rows // 5, rows % 5
        r, c = np.divmod(np.arange(100), 10)
        self.c3_index = (
            maps.reshape(-1, 1) * 196 + (u.reshape(-1, 1) + r) * 14 + v.reshape(-1, 1) + c
        )
        # forward: t = tanh(S a); a unit's output is y = A t (f(a) = A tanh(S a), Appendix A)
        self.t1, self.s2_sum, self.t2 = e((6, 784)), e((6, 14, 14)), e((6, 14, 14))
        self.cols3, self.t3 = e((c3_in, 100)), e((16, 100))
        self.s4_sum, self.t4 = e((16, 5, 5)), e((16, 5, 5))
        self.y4, self.t5, self.y5, self.t6 = e(400), e(120), e(120), e(84)
        self.y6, self.diff, self.square = e(84), e((10, 84)), e((10, 84))
        self.scores, self.p = e(10), e(10)
        # backward
        self.slope1, self.slope2, self.slope3 = e((6, 784)), e((6, 14, 14)), e((16, 100))
        self.slope4, self.slope5, self.slope6 = e((16, 5, 5)), e(120), e(84)
        self.g_t6, self.g_t5, self.g_t4 = e(84), e(120), e(400)
        self.g_cols3 = e((c3_in, 100))
        self.g_cols3_tensor = torch.from_numpy(self.g_cols3)[None]
        self.tmp4, self.tmp2 = e((16, 5, 5)), e((6, 14, 14))
        self.coef4, self.coef2 = e((16, 1, 1)), e((6, 1, 1))

    @torch.no_grad()
    def set_curvature(self, estimates: dict[nn.Parameter, torch.Tensor], mu: float) -> None:
        """Keep 1 / (mu + h_kk) for every weight; `set_rate(eta)` turns it into eps_k.

        A masked C3 weight gets 0, so it never moves (its h_kk is 0, not infinite).
        """
        for p, (_, _, inverse) in self.views.items():
            torch.reciprocal(estimates[p] + mu, out=inverse)
        if isinstance(self.c3, MaskedConv2d):
            self.views[self.c3.weight][2].view(16, -1).mul_(self.c3_mask)
        self.inverse_curvature = self.eps.clone()
        self.rate = None

    @torch.no_grad()
    def set_rate(self, eta: float) -> None:
        """eps_k = eta / (mu + h_kk), p.10."""
        if eta != self.rate:
            torch.mul(self.inverse_curvature, eta, out=self.eps)
            self.rate = eta

    @torch.no_grad()
    def layer_grad_norms(self, layers: list[list[nn.Parameter]]) -> list[float]:
        """The L2 norm of the last pattern's gradient, over each list of parameters."""
        return [
            math.sqrt(sum(float(self.views[p][1].pow(2).sum()) for p in params))
            for params in layers
        ]

    # -- patterns ------------------------------------------------------------------------
    @torch.inference_mode()
    def train(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[list[float], torch.Tensor]:
        """One SDLM update per pattern, in order, on images (K, 1, 32, 32).

        Returns each pattern's loss (eq. 9) before its update and its ten RBF penalties (K, 10).
        """
        columns = F.unfold(images.float(), 5).numpy()  # C1's inputs (K, 25, 784), in one call
        penalties = np.empty((len(labels), 10), dtype=np.float32)
        flat, grad, eps = self.flat.numpy(), self.grad.numpy(), self.eps.numpy()
        change = np.empty_like(flat)
        losses = []
        for index, label in enumerate(labels.tolist()):
            self._forward(columns[index], penalties[index])
            losses.append(self._loss_backward(penalties[index], label))
            self._backward_layers(columns[index])
            np.multiply(grad, eps, out=change)
            np.subtract(flat, change, out=flat)  # w_k -= eps_k dE/dw_k, all 60,000 at once
        return losses, torch.from_numpy(penalties)

    @staticmethod
    def _squash(t: np.ndarray) -> None:
        """t = tanh(S a) in place, a given in t."""
        np.multiply(t, _S, out=t)
        np.tanh(t, out=t)

    @staticmethod
    def _slope(t: np.ndarray, out: np.ndarray) -> np.ndarray:
        """1 - t^2 = f'(a) / (A S), with t = tanh(S a)."""
        np.multiply(t, t, out=out)
        return np.subtract(1.0, out, out=out)

    def _forward(self, cols1: np.ndarray, penalties: np.ndarray) -> None:
        sq = self._squash
        np.matmul(self.w1, cols1, out=self.t1)  # C1 as a product on the unfolded input
        self.t1 += self.b1
        sq(self.t1)
        np.sum(self.t1.reshape(6, 14, 2, 14, 2), axis=(2, 4), out=self.s2_sum)
        # S2: a = c (sum of the 2x2 window of y1 = A t1) + b
        np.multiply(self.c2, _A, out=self.coef2)
        np.multiply(self.s2_sum, self.coef2, out=self.t2)
        self.t2 += self.b2
        sq(self.t2)
        np.take(self.t2.reshape(-1), self.c3_index, out=self.cols3)
        np.matmul(self.w3, self.cols3, out=self.t3)
        self.t3 *= _A
        self.t3 += self.b3
        sq(self.t3)
        np.sum(self.t3.reshape(16, 5, 2, 5, 2), axis=(2, 4), out=self.s4_sum)
        np.multiply(self.c4, _A, out=self.coef4)
        np.multiply(self.s4_sum, self.coef4, out=self.t4)
        self.t4 += self.b4
        sq(self.t4)
        np.multiply(self.t4.reshape(400), _A, out=self.y4)
        np.matmul(self.w5, self.y4, out=self.t5)
        self.t5 += self.b5
        sq(self.t5)
        np.multiply(self.t5, _A, out=self.y5)
        np.matmul(self.w6, self.y5, out=self.t6)
        self.t6 += self.b6
        sq(self.t6)
        np.multiply(self.t6, _A, out=self.y6)
        np.subtract(self.y6, self.codes_np, out=self.diff)  # eq. 7: x_j - w_ij
        np.multiply(self.diff, self.diff, out=self.square)
        np.sum(self.square, axis=1, out=penalties)  # y_i = sum_j (x_j - w_ij)^2

    def _loss_backward(self, penalties: np.ndarray, label: int) -> float:
        """eq. 9: E = y_label + log(e^-j + sum_i e^-y_i); then -dE/dy_i = softmax(-j, -y)_i -
        [i == label], and from it dE/dt6."""
        lowest = min(float(penalties.min()), self.j)  # shift the exponents: no overflow
        np.subtract(lowest, penalties, out=self.scores)
        np.exp(self.scores, out=self.p)
        total = float(self.p.sum()) + math.exp(lowest - self.j)
        loss = float(penalties[label]) - lowest + math.log(total)
        self.p /= total
        self.p[label] -= 1.0
        # dE/dt6_j = A dE/dx_j = A sum_i dE/dy_i 2 (x_j - w_ij)
        np.matmul(self.p, self.diff, out=self.g_t6)
        self.g_t6 *= -2.0 * _A
        return loss

    def _backward_layers(self, cols1: np.ndarray) -> None:
        AS = _A * _S
        # F6: dE/da6 = dE/dt6 S (1 - t6^2); its inputs are y5
        g_a6 = self.g_t6
        g_a6 *= self._slope(self.t6, self.slope6)
        g_a6 *= _S
        np.multiply(g_a6[:, None], self.y5, out=self.g_w6)
        self.g_b6[:] = g_a6
        # C5 (a full 5x5 convolution over S4's 5x5 maps: a linear layer on 400 inputs).
        # g_t5 holds dE/dy5 x A S, so that dE/da5 = dE/dy5 A S (1 - t5^2) is one product.
        np.matmul(g_a6, self.w6, out=self.g_t5)
        g_a5 = self.g_t5
        g_a5 *= self._slope(self.t5, self.slope5)
        g_a5 *= AS
        np.multiply(g_a5[:, None], self.y4, out=self.g_w5)
        self.g_b5[:] = g_a5
        np.matmul(g_a5, self.w5, out=self.g_t4)
        # S4: a4 = c (A x window sum of t3) + b
        g_a4 = self.g_t4.reshape(16, 5, 5)
        g_a4 *= self._slope(self.t4, self.slope4)
        g_a4 *= AS
        np.multiply(g_a4, self.s4_sum, out=self.tmp4)
        np.sum(self.tmp4, axis=(1, 2), keepdims=True, out=self.g_c4)
        self.g_c4 *= _A
        np.sum(g_a4, axis=(1, 2), keepdims=True, out=self.g_b4)
        g_a4 *= self.c4  # dE/dy3 of each of the window's four C3 units
        # C3
        slope3 = self._slope(self.t3, self.slope3).reshape(16, 5, 2, 5, 2)
        slope3 *= g_a4.reshape(16, 5, 1, 5, 1)
        g_a3 = self.slope3
        g_a3 *= AS
        np.matmul(g_a3, self.cols3.T, out=self.g_w3)  # masked entries have eps 0
        self.g_w3 *= _A
        np.sum(g_a3, axis=1, keepdims=True, out=self.g_b3)
        np.matmul(self.w3.T, g_a3, out=self.g_cols3)
        # each S2 unit sums the gradients of its uses in C3's unfolded input (col2im)
        g_a2 = F.fold(self.g_cols3_tensor, (14, 14), 5)[0].numpy()
        # S2
        g_a2 *= self._slope(self.t2, self.slope2)
        g_a2 *= AS
        np.multiply(g_a2, self.s2_sum, out=self.tmp2)
        np.sum(self.tmp2, axis=(1, 2), keepdims=True, out=self.g_c2)
        self.g_c2 *= _A
        np.sum(g_a2, axis=(1, 2), keepdims=True, out=self.g_b2)
        g_a2 *= self.c2
        # C1
        slope1 = self._slope(self.t1, self.slope1).reshape(6, 14, 2, 14, 2)
        slope1 *= g_a2.reshape(6, 14, 1, 14, 1)
        g_a1 = self.slope1
        g_a1 *= AS
        np.matmul(g_a1, cols1.T, out=self.g_w1)
        np.sum(g_a1, axis=1, keepdims=True, out=self.g_b1)
