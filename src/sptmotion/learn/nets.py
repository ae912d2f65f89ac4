"""Neural networks of the learners: a compact scalogram CNN and a WADNet-style sequence net.

Both networks fold the spatial dimensions into the batch: every coordinate of a track goes
through the same trunk, and the per-coordinate feature vectors are averaged before the head.
A network trained on 2D tracks therefore also reads 1D and 3D tracks, is invariant to a
permutation of the axes (no axis-swap augmentation needed), and sees ``dim`` times more
training signals than tracks - which matters when only ~1000 tracks are available.

Inputs
------
- :class:`ScalogramCNN`: ``(batch, dim, n_wavelets, n_scales, T)`` normalized log-scalograms
  (6 wavelets, 24 scales, ``T`` time points); pooling over time makes any ``T >= 20`` work.
- :class:`WADNet`: ``(batch, dim, T)`` normalized increments.

Outputs: ``n_out`` numbers per track (class logits, or mean and log-variance for regression).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ScalogramCNN", "WADNet", "build_net", "NETS"]


#: Global pooling over time (last axis) of the temporal features.
_POOLS = {
    "mean": lambda h: h.mean(dim=-1),
    "max": lambda h: h.amax(dim=-1),
    "std": lambda h: h.std(dim=-1, unbiased=False),
}


def _conv2d_block(c_in: int, c_out: int, pool: tuple[int, int]) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.GELU(),
    ]
    if pool != (1, 1):
        layers.append(nn.MaxPool2d(pool, ceil_mode=True))
    return nn.Sequential(*layers)


class ScalogramCNN(nn.Module):
    """Compact CNN for ``(n_wavelets, 24, T)`` wavelet scalograms of one coordinate.

    Architecture (``width = w``; compact ``w = 12``, large ``w = 32``)::

        (6, 24, T) -> conv3x3(w)  + BN + GELU, maxpool (2, 2)   -> (w, 12, T/2)
                   -> conv3x3(2w) + BN + GELU, maxpool (2, 1)   -> (2w, 6, T/2)
                   -> conv3x3(4w) + BN + GELU, maxpool (2, 1)   -> (4w, 3, T/2)
                   -> flatten scales into channels               -> (12w, T/2)
                   -> conv1d k3 (dilation 1, 2) + BN + GELU      -> (c, T/2)
                   -> global pooling over time (any T): ``pooling`` lists
                      "mean", "max" and/or "std"
                   [+ ``scale_stats``: time mean and std of each of the 6 x 24 input
                      rows -> linear(64) + LayerNorm + GELU, concatenated]
                   -> mean over coordinates
                   -> dropout -> linear(64) -> GELU -> linear(n_out)

    With ``scale_stats`` the head also sees the time-averaged log-modulus and its spread per
    (wavelet, scale): for a self-similar process the mean log-modulus grows linearly in
    log(scale) with slope ``(alpha + 1) / 2`` (positions; Abry & Veitch, IEEE Trans. Inf.
    Theory 44, 2 (1998)), a global-over-time quantity that the max-pooled convolutional path
    only approximates. The scale axis has only 24 rows, so it is halved three times down to 3 rows and then
    folded into channels; the time axis is pooled once and finally globally, so the same
    network reads tracks of any length.
    """

    def __init__(
        self,
        n_out: int,
        n_wavelets: int = 6,
        n_scales: int = 24,
        width: int = 12,
        dropout: float = 0.2,
        pooling: str = "mean,max",
        scale_stats: bool = False,
    ) -> None:
        super().__init__()
        w = int(width)
        pools = tuple(pooling.split(","))
        if not pools or any(q not in _POOLS for q in pools):
            raise ValueError(f"pooling must list some of {', '.join(_POOLS)}, got {pooling!r}")
        self.pools = pools
        self.config = {
            "n_out": int(n_out),
            "n_wavelets": int(n_wavelets),
            "n_scales": int(n_scales),
            "width": w,
            "dropout": float(dropout),
            "pooling": ",".join(pools),
            "scale_stats": bool(scale_stats),
        }
        self.blocks = nn.Sequential(
            _conv2d_block(n_wavelets, w, (2, 2)),
            _conv2d_block(w, 2 * w, (2, 1)),
            _conv2d_block(2 * w, 4 * w, (2, 1)),
        )
        rows = n_scales
        for _ in range(3):
            rows = -(-rows // 2)
        c1 = 4 * w * rows
        c2 = max(32, 4 * w)
        self.temporal = nn.Sequential(
            nn.Conv1d(c1, c2, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm1d(c2),
            nn.GELU(),
            nn.Conv1d(c2, c2, kernel_size=3, padding=2, dilation=2, bias=False),
            nn.BatchNorm1d(c2),
            nn.GELU(),
        )
        n_stats = 0
        if scale_stats:
            # time mean and std of every (wavelet, scale) row of the input scalogram
            n_stats = 64
            self.stats = nn.Sequential(
                nn.Linear(2 * n_wavelets * n_scales, n_stats),
                nn.LayerNorm(n_stats),
                nn.GELU(),
            )
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(len(pools) * c2 + n_stats, 64),
            nn.GELU(),
            nn.Linear(64, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, d = x.shape[:2]
        xs = x.flatten(0, 1)  # (b*d, n_wavelets, n_scales, T)
        h = self.blocks(xs)  # (b*d, 4w, rows, T')
        h = self.temporal(h.flatten(1, 2))  # (b*d, c2, T')
        parts = [_POOLS[q](h) for q in self.pools]
        if self.config["scale_stats"]:
            rows = xs.flatten(1, 2)  # (b*d, n_wavelets * n_scales, T)
            parts.append(self.stats(torch.cat([rows.mean(-1), rows.std(-1, unbiased=False)], 1)))
        h = torch.cat(parts, dim=1)
        h = h.view(b, d, -1).mean(dim=1)
        return self.head(h)


class _GatedResidual(nn.Module):
    """WaveNet residual unit: ``tanh(W_f * x) * sigmoid(W_g * x)`` with a dilated kernel."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.filt = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.gate = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.res = nn.Conv1d(channels, channels, 1)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.tanh(self.filt(x)) * torch.sigmoid(self.gate(x))
        return self.norm(x + self.res(z))


class WADNet(nn.Module):
    """WADNet-style trajectory network (Li, Yao, Huang 2021): gated dilated convs + LSTM.

    WaDNet (D. Li, Q. Yao, Z. Huang, "WaveNet-based deep neural networks for the
    characterization of anomalous diffusion (WADNet)", J. Phys. A 54, 404003 (2021)) feeds
    the normalized increments through a WaveNet encoder (gated activations, dilations
    1, 2, 4, 8) and a bidirectional LSTM, then a dense head. Here each coordinate is
    encoded separately and the coordinate features are averaged (dimension-agnostic).
    """

    def __init__(
        self, n_out: int, channels: int = 32, hidden: int = 32, dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.config = {
            "n_out": int(n_out),
            "channels": int(channels),
            "hidden": int(hidden),
            "dropout": float(dropout),
        }
        self.inp = nn.Conv1d(1, channels, 1)
        self.wavenet = nn.Sequential(*[_GatedResidual(channels, d) for d in (1, 2, 4, 8)])
        self.lstm = nn.LSTM(channels, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(4 * hidden, 64),
            nn.GELU(),
            nn.Linear(64, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, d, t = x.shape
        h = self.wavenet(self.inp(x.reshape(b * d, 1, t)))  # (b*d, C, T)
        out, _ = self.lstm(h.transpose(1, 2))  # (b*d, T, 2H)
        hidden = out.shape[-1] // 2
        last = torch.cat([out[:, -1, :hidden], out[:, 0, hidden:]], dim=1)
        h = torch.cat([last, out.mean(dim=1)], dim=1)
        h = h.view(b, d, -1).mean(dim=1)
        return self.head(h)


#: Registry of the network classes by name (used to rebuild a saved model).
NETS: dict[str, type[nn.Module]] = {"scalogram_cnn": ScalogramCNN, "wadnet": WADNet}


def build_net(name: str, config: dict) -> nn.Module:
    """Rebuild a network from its registry name and its ``config`` dictionary."""
    if name not in NETS:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(NETS)}")
    return NETS[name](**config)
