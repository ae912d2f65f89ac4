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

import copy

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ScalogramCNN",
    "WADNet",
    "BlockMaxPool2d",
    "DenseGELU",
    "build_net",
    "inference_copy",
    "channels_last_copy",
    "to_channels_last",
    "NETS",
]


#: Global pooling over time (last axis) of the temporal features.
_POOLS = {
    "mean": lambda h: h.mean(dim=-1),
    "max": lambda h: h.amax(dim=-1),
    "std": lambda h: _std(h),
}


class BlockMaxPool2d(nn.Module):
    """Max over non-overlapping ``(ph, pw)`` blocks, an incomplete last block included.

    The same values as ``nn.MaxPool2d(pool, ceil_mode=True)``, computed as the elementwise
    maximum of the ``ph * pw`` strided sub-grids (after padding with -inf), which on CPU is
    about seven times faster than PyTorch's pooling kernel (that also computes the argmax).
    """

    def __init__(self, pool: tuple[int, int]) -> None:
        super().__init__()
        self.ph, self.pw = int(pool[0]), int(pool[1])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        pad_r, pad_t = -h.shape[-2] % self.ph, -h.shape[-1] % self.pw
        if pad_r or pad_t:
            h = F.pad(h, (0, pad_t, 0, pad_r), value=float("-inf"))
        # rows first: each part keeps whole time rows (contiguous), then the time blocks
        rows = h.shape[-2] // self.ph
        if self.ph > 1:
            if h.is_contiguous():
                t = h.shape[-1]
                g = h.view(*h.shape[:-2], rows, self.ph * t)
                parts = [g[..., i * t : (i + 1) * t] for i in range(self.ph)]
            else:
                parts = [h[..., i :: self.ph, :] for i in range(self.ph)]
            h = parts[0]
            for part in parts[1:]:
                h = torch.maximum(h, part)
        if self.pw > 1:
            parts = [h[..., j :: self.pw] for j in range(self.pw)]
            h = parts[0]
            for part in parts[1:]:
                h = torch.maximum(h, part)
        return h


#: Above this many runs of equal length in a batch, tails are masked by one boolean mask.
_MAX_FILL_RUNS = 32


def _mask_tail(h: torch.Tensor, lens: torch.Tensor, value: float) -> torch.Tensor:
    """``h`` (n, ..., t) with ``value`` at time indices ``>= lens`` (in place without autograd;
    only the tail beyond the shortest length is touched)."""
    t = h.shape[-1]
    t_min = int(lens.min())
    if t_min >= t:
        return h
    if torch.is_grad_enabled() and h.requires_grad:
        pad = _tail_mask(h, lens, t_min)
        return torch.cat([h[..., :t_min], h[..., t_min:].masked_fill(pad, value)], dim=-1)
    # batches come in runs of equal length: one fill per run is cheaper than a mask
    runs = _short_runs(lens.tolist(), t)
    if len(runs) <= _MAX_FILL_RUNS:
        for a, b, n in runs:
            h[a:b, ..., n:].fill_(value)
        return h
    h[..., t_min:].masked_fill_(_tail_mask(h, lens, t_min), value)
    return h


def _tail_mask(h: torch.Tensor, lens: torch.Tensor, t_min: int) -> torch.Tensor:
    """True at the time indices ``t_min..`` of ``h`` (n, ..., t) that are ``>= lens``,
    shaped to broadcast against ``h[..., t_min:]``."""
    t = h.shape[-1]
    pad = torch.arange(t_min, t, device=h.device)[None, :] >= lens[:, None]
    return pad.view((h.shape[0],) + (1,) * (h.dim() - 2) + (t - t_min,))


def _short_runs(lens: list, t: int) -> list:
    """``(start, stop, length)`` of the runs of equal consecutive ``lens`` shorter than ``t``."""
    runs = []
    start = 0
    for i in range(1, len(lens) + 1):
        if i == len(lens) or lens[i] != lens[start]:
            if lens[start] < t:
                runs.append((start, i, lens[start]))
            start = i
    return runs


def _masked_pools(kinds: tuple, h: torch.Tensor, lens: torch.Tensor) -> list:
    """Global time pooling of ``h`` (n, c, t) over each item's first ``lens`` samples, for
    each pooling of ``kinds`` (``h`` is overwritten beyond the lengths)."""
    n = lens.to(h.dtype)[:, None]
    out = {}
    if "mean" in kinds or "std" in kinds:
        h = _mask_tail(h, lens, 0.0)
        out["mean"] = h.sum(dim=-1) / n
    if "std" in kinds:
        dev = _mask_tail(h - out["mean"][..., None], lens, 0.0)
        out["std"] = (dev.square().sum(dim=-1) / n).sqrt()
    if "max" in kinds:
        out["max"] = _mask_tail(h, lens, -torch.inf).amax(dim=-1)
    return [out[q] for q in kinds]


def _std(h: torch.Tensor) -> torch.Tensor:
    """Population standard deviation over the last axis (two passes; faster than ``std``)."""
    return (h - h.mean(dim=-1, keepdim=True)).square().mean(dim=-1).sqrt()


def _conv2d_block(c_in: int, c_out: int, pool: tuple[int, int]) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.GELU(),
    ]
    if pool != (1, 1):
        layers.append(BlockMaxPool2d(pool))
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
        n_side: int = 0,
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
        if n_side:
            self.config["n_side"] = int(n_side)
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
        n_side_out = 0
        if n_side:
            # per-coordinate side inputs (e.g. the log step scale the standardization removed)
            n_side_out = 16
            self.side = nn.Sequential(nn.Linear(int(n_side), n_side_out), nn.GELU())
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(len(pools) * c2 + n_stats + n_side_out, 64),
            nn.GELU(),
            nn.Linear(64, n_out),
        )

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        side: torch.Tensor | None = None,
        row_stats: tuple | None = None,
    ) -> torch.Tensor:
        """Outputs ``(batch, n_out)``.

        ``side`` (batch, dim, n_side): per-coordinate side inputs of a network built with
        ``n_side`` (required then, ignored otherwise).

        ``lengths`` (batch,): tracks of different lengths zero-padded at the end of the time
        axis to a common length. Every layer then sees zeros beyond a track's end (what the
        zero padding of its convolution sees for an unpadded track), pooling windows ignore
        the padding, and the global time statistics run over the track's own samples: the
        outputs equal those of the unpadded tracks up to float32 rounding.

        ``row_stats`` (with ``lengths``): the time mean and population standard deviation of
        each input row over the track's own samples, two ``(batch, dim, n_wavelets,
        n_scales)`` tensors, for a network built with ``scale_stats`` when the caller has
        them already (otherwise computed from ``x``).
        """
        if lengths is not None:
            return self._forward_padded(x, lengths, side, row_stats)
        b, d = x.shape[:2]
        xs = x.flatten(0, 1)  # (b*d, n_wavelets, n_scales, T)
        h = self.blocks(xs)  # (b*d, 4w, rows, T')
        h = self.temporal(h.flatten(1, 2))  # (b*d, c2, T')
        parts = [_POOLS[q](h) for q in self.pools]
        if self.config["scale_stats"]:
            rows = xs.flatten(1, 2)  # (b*d, n_wavelets * n_scales, T)
            parts.append(self.stats(torch.cat([rows.mean(-1), _std(rows)], 1)))
        return self._head(parts, side, b, d)

    def _head(self, parts: list, side: torch.Tensor | None, b: int, d: int) -> torch.Tensor:
        """Side inputs joined to the per-coordinate features, mean over coordinates, head."""
        if self.config.get("n_side"):
            if side is None:
                raise ValueError("this network needs its side inputs (side=)")
            parts = [*parts, self.side(side.reshape(b * d, -1))]
        h = torch.cat(parts, dim=1)
        return self.head(h.view(b, d, -1).mean(dim=1))

    def _forward_padded(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        side: torch.Tensor | None,
        row_stats: tuple | None,
    ) -> torch.Tensor:
        b, d = x.shape[:2]
        xs = x.flatten(0, 1)
        lens_in = lengths.to(torch.int64).repeat_interleave(d)  # (b*d,)
        lens = lens_in
        h = xs
        for block in self.blocks:
            for layer in block:
                if isinstance(layer, BlockMaxPool2d):
                    h = _mask_tail(h, lens, -torch.inf)
                    h = layer(h)
                    lens = -(-lens // layer.pw)
                else:
                    h = layer(h)
            h = _mask_tail(h, lens, 0.0)
        h = h.flatten(1, 2)
        for i, layer in enumerate(self.temporal):
            h = layer(h)
            if isinstance(layer, nn.GELU) and i < len(self.temporal) - 1:
                h = _mask_tail(h, lens, 0.0)
        parts = _masked_pools(self.pools, h, lens)
        if self.config["scale_stats"]:
            if row_stats is None:
                rows = xs.flatten(1, 2)
                n_in = lens_in.to(rows.dtype)[:, None]
                mean = rows.sum(-1) / n_in  # padding is 0
                dev = _mask_tail(rows - mean[..., None], lens_in, 0.0)
                std = (dev.square().sum(-1) / n_in).sqrt()
            else:
                mean, std = (r.reshape(b * d, -1) for r in row_stats)
            parts.append(self.stats(torch.cat([mean, std], 1)))
        return self._head(parts, side, b, d)


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


def inference_copy(net: nn.Module) -> nn.Module:
    """An evaluation-mode copy of ``net`` with every batch norm folded into its convolution.

    In evaluation mode a ``BatchNorm`` that directly follows a bias-free or biased
    convolution is an affine map per output channel, so it can be absorbed into the
    convolution's weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``): the same
    function up to float32 rounding (~1e-6 relative), one pass over the activations less.
    A GELU that follows a convolution, linear layer or normalization in its container is the
    only reader of that layer's output: it becomes a :class:`DenseGELU` that overwrites it
    when gradients are off (the same values). The original network is not changed.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    out = copy.deepcopy(net).eval()
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    for module in out.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, norm = module[i], module[i + 1]
            if isinstance(conv, convs) and isinstance(norm, norms):
                module[i] = fuse_conv_bn_eval(conv, norm)
                module[i + 1] = nn.Identity()
    _dense_gelus(out, inplace=True)
    return out


def _dense_gelus(net: nn.Module, inplace: bool) -> None:
    """Replace the plain GELUs in ``net``'s ``nn.Sequential`` containers by :class:`DenseGELU`.

    With ``inplace``, only those behind a layer that makes a new tensor in the same container
    (:data:`_FRESH`), whose output they are the only reader of, and they overwrite it.
    """
    for module in net.modules():
        if not isinstance(module, nn.Sequential):
            continue
        fresh = False
        for i, layer in enumerate(module):
            if type(layer) is nn.GELU and (fresh or not inplace):
                module[i] = DenseGELU(layer.approximate, inplace=inplace)
            fresh = fresh or isinstance(layer, _FRESH)


class DenseGELU(nn.GELU):
    """``nn.GELU`` that reads a channels-last 4D tensor as the dense array it is.

    PyTorch's GELU takes a slower elementwise path on a channels-last tensor (about 2x on
    CPU with torch 2.13, values within ~1e-6 of the contiguous kernel's); on the flat
    storage it runs the vectorized kernel of contiguous tensors and gives its values. The
    result keeps the channels-last layout. Other tensors go to ``nn.GELU`` unchanged.

    With ``inplace=True`` and gradients off (prediction), the input is overwritten by its
    GELU and returned: the same values, one activation tensor less to allocate and write.
    :func:`inference_copy` sets it where the input is a tensor no other layer reads.
    """

    def __init__(self, approximate: str = "none", inplace: bool = False) -> None:
        super().__init__(approximate)
        self.inplace = bool(inplace)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        overwrite = self.inplace and not torch.is_grad_enabled()
        cl = torch.channels_last
        if h.dim() == 4 and not h.is_contiguous() and h.is_contiguous(memory_format=cl):
            p = h.permute(0, 2, 3, 1)  # contiguous
            if overwrite:
                torch.ops.aten.gelu_(p.view(-1), approximate=self.approximate)
                return h
            flat = F.gelu(p.reshape(-1), approximate=self.approximate)
            return flat.view(p.shape).permute(0, 3, 1, 2)
        if overwrite:
            return torch.ops.aten.gelu_(h, approximate=self.approximate)
        return super().forward(h)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", inplace=True" if self.inplace else "")


#: Layers whose output is a new tensor (not a view or the input itself).
_FRESH = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.Linear,
    nn.LayerNorm,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
)


def channels_last_copy(net: nn.Module) -> nn.Module:
    """A copy of ``net`` with its 4D (2D-convolution) weights in channels-last layout.

    Fed channels-last input (:func:`to_channels_last`), oneDNN runs every 2D convolution on
    the NHWC layout directly instead of reordering the activations into its blocked layout
    and back around each convolution; the GELUs read the activations as flat arrays
    (:class:`DenseGELU`) and the pooling keeps the layout. Same function up to float32
    rounding. On CPU this pays for scalograms of at least ~64 time points
    (``benchmarks/results/inference``); for shorter ones the reorders are cheaper than the
    NHWC kernels. The original network is not changed.
    """
    out = copy.deepcopy(net).to(memory_format=torch.channels_last)
    _dense_gelus(out, inplace=False)
    return out


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` ``(..., channels, height, width)`` with each ``(channels, height, width)`` item
    in channels-last order (channels innermost); same shape and values (a copy)."""
    flat = x.reshape(-1, *x.shape[-3:]).contiguous(memory_format=torch.channels_last)
    return flat.view(x.shape)
