"""Training loop of the torch learners.

One call of :func:`train_net` trains one network with

- mini-batches drawn within groups of equal track length (any length works, no padding);
- AdamW with weight decay, a ``ReduceLROnPlateau`` learning-rate schedule on the validation
  loss, early stopping with restoration of the best weights;
- a tqdm progress bar (one tick per epoch, shows the validation loss);
- deterministic seeding on CPU: ``torch.manual_seed``, deterministic algorithms and a fixed
  number of threads during the call (restored afterwards).

The data come from a *source*: an object with ``groups`` (``{length: indices}``) and
``batch(indices, train, rng)`` returning a float32 tensor, so that large training sets can be
transformed per batch (on the fly) rather than materialized.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "train_net",
    "predict_net",
    "torch_context",
    "gaussian_beta_nll",
    "laplace_beta_nll",
    "REGRESSION_LOSSES",
    "check_regression_loss",
]

#: Regression losses of the (location, log-variance) head: see :func:`regression_loss`.
REGRESSION_LOSSES = ("gaussian", "laplace")


def check_regression_loss(loss: str) -> str:
    """Return ``loss`` if it is one of :data:`REGRESSION_LOSSES`, else raise ValueError."""
    if loss not in REGRESSION_LOSSES:
        raise ValueError(f"loss must be one of {', '.join(REGRESSION_LOSSES)}, got {loss!r}")
    return loss


class Source(Protocol):
    groups: dict[int, np.ndarray]

    def batch(
        self, idx: np.ndarray, train: bool, rng: np.random.Generator | None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...


@contextlib.contextmanager
def torch_context(seed: int | None, n_threads: int | None) -> Iterator[None]:
    """Seed torch, switch on deterministic algorithms and fix the thread count, then restore."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    try:
        if n_threads is not None:
            torch.set_num_threads(int(n_threads))
        if seed is not None:
            torch.manual_seed(int(seed))
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def gaussian_beta_nll(out: torch.Tensor, y: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    r"""β-NLL of a Gaussian head ``out = (mean, log variance)`` (Seitzer et al., ICLR 2022).

    .. math:: \mathcal{L} = \left\lfloor \sigma^{2\beta} \right\rfloor
              \tfrac12 \left[\log \sigma^2 + (y - \mu)^2 / \sigma^2\right]

    where :math:`\lfloor\cdot\rfloor` stops the gradient. ``beta = 0`` is the plain Gaussian
    NLL; ``beta = 0.5`` keeps the mean from being neglected on hard examples, which
    otherwise slows the fit of the mean.
    """
    mu, logvar = out[:, 0], out[:, 1].clamp(-12.0, 6.0)
    var = logvar.exp()
    nll = 0.5 * (logvar + (y - mu) ** 2 / var)
    if beta:
        nll = nll * var.detach() ** beta
    return nll.mean()


def laplace_beta_nll(out: torch.Tensor, y: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    r"""β-weighted NLL of a Laplace head ``out = (median, log variance)``.

    The Laplace density :math:`p(y) = \exp(-|y - \mu| / b) / (2b)` has median :math:`\mu`
    and variance :math:`\sigma^2 = 2 b^2`; the head predicts :math:`(\mu, \log\sigma^2)`
    like the Gaussian head, so ensembles, test-time averaging and calibration treat both
    alike. With the same stop-gradient weight as :func:`gaussian_beta_nll`,

    .. math:: \mathcal{L} = \left\lfloor \sigma^{2\beta} \right\rfloor
              \left[\log(2b) + |y - \mu| / b\right], \qquad b = \sigma / \sqrt{2},

    the gradient on the location is
    :math:`\partial\mathcal{L}/\partial\mu = \sigma^{2\beta - 1}\sqrt{2}\,
    \mathrm{sign}(\mu - y)`, i.e. with ``beta = 0.5`` exactly :math:`\sqrt{2}` times the
    gradient of the absolute error: the location is fitted to the conditional median, the
    minimizer of the mean absolute error (the AnDi metric), and every track weighs the
    same whatever its predicted spread. For fixed :math:`\mu` the loss is minimal at
    :math:`b = |y - \mu|`, so :math:`b` estimates the mean absolute deviation
    (``beta`` does not move that minimum). ``beta = 0`` is the plain Laplace NLL.
    """
    mu, logvar = out[:, 0], out[:, 1].clamp(-12.0, 6.0)
    var = logvar.exp()
    # log(2 b) = log 2 + 0.5 * (log var - log 2)
    log_2b = 0.5 * (logvar + math.log(2.0))
    nll = log_2b + (y - mu).abs() * torch.exp(-0.5 * (logvar - math.log(2.0)))
    if beta:
        nll = nll * var.detach() ** beta
    return nll.mean()


def regression_loss(out: torch.Tensor, y: torch.Tensor, loss: str = "gaussian") -> torch.Tensor:
    """β-NLL (β = 0.5) of the regression head: ``"gaussian"`` (:func:`gaussian_beta_nll`,
    fits the conditional mean) or ``"laplace"`` (:func:`laplace_beta_nll`, fits the
    conditional median)."""
    if check_regression_loss(loss) == "laplace":
        return laplace_beta_nll(out, y)
    return gaussian_beta_nll(out, y)


def _loss(
    task: str,
    out: torch.Tensor,
    y: torch.Tensor,
    label_smoothing: float = 0.0,
    loss: str = "gaussian",
) -> torch.Tensor:
    if task == "classification":
        return F.cross_entropy(out, y, label_smoothing=label_smoothing)
    return regression_loss(out, y, loss)


def _monitor(task: str, out: torch.Tensor, y: torch.Tensor) -> float:
    """Validation score for early stopping and the LR schedule (lower is better).

    The task metric, not the training loss: the mean absolute error of the predicted mean
    (regression), the error rate plus 1 % of the cross-entropy as a tie-break
    (classification). The likelihood losses keep improving the variance / confidence heads
    after the point estimates stopped improving (or get worse while they still improve), so
    stopping on them ends training too early for MAE and accuracy.
    """
    if task == "classification":
        err = float((out.argmax(dim=1) != y).float().mean())
        return err + 0.01 * float(F.cross_entropy(out, y))
    return float((out[:, 0] - y).abs().mean())


#: Smallest batch a training step takes (batch norm needs two samples); smaller ones are skipped.
MIN_TRAIN_BATCH = 2


def _batches(
    groups: dict[int, np.ndarray], batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Index batches drawn within length groups (shuffled when ``rng`` is given)."""
    out = []
    for idx in groups.values():
        if rng is not None:
            idx = rng.permutation(idx)
        n_b = max(1, math.ceil(len(idx) / batch_size))
        out.extend(np.array_split(idx, n_b))
    if rng is not None:
        order = rng.permutation(len(out))
        out = [out[i] for i in order]
    return [b for b in out if len(b)]


def _forward(net: nn.Module, batch, device: str) -> torch.Tensor:
    """``net`` on a source's batch: a tensor, or ``(tensor, side inputs)``."""
    if isinstance(batch, tuple):
        x, side = batch
        return net(x.to(device), side=side.to(device))
    return net(batch.to(device))


def predict_net(
    net: nn.Module, source: Source, n: int, n_out: int, batch_size: int = 128, device: str = "cpu"
) -> np.ndarray:
    """Raw network outputs ``(n, n_out)`` for all items of ``source`` (evaluation mode)."""
    net.eval()
    res = np.empty((n, n_out), dtype=np.float64)
    with torch.inference_mode():
        for idx in _batches(source.groups, batch_size, None):
            res[idx] = _forward(net, source.batch(idx, False, None), device).double().cpu().numpy()
    return res


def train_net(
    net: nn.Module,
    task: str,
    train: Source,
    y_train: np.ndarray,
    val: Source,
    y_val: np.ndarray,
    *,
    max_epochs: int = 60,
    patience: int = 8,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    weight_decay: float = 1e-3,
    label_smoothing: float = 0.0,
    lr_schedule: str = "plateau",
    loss: str = "gaussian",
    rng: np.random.Generator,
    device: str = "cpu",
    verbose: bool = False,
    desc: str = "training",
) -> dict:
    """Train ``net`` in place and return its history.

    Parameters
    ----------
    task : {"classification", "regression"}
        Cross-entropy on integer labels, or β-NLL of a (location, log-variance) head.
    train, val : Source
        Batched data; ``y_train`` / ``y_val`` are the targets of their items.
    max_epochs, patience : int
        Upper bound on epochs; stop after ``patience`` epochs without a better validation
        score (MAE of the mean, or error rate; see :func:`_monitor`) and restore the best
        weights.
    learning_rate, weight_decay : float
        AdamW settings; the learning rate is halved after ``patience // 3 + 1`` epochs
        without improvement.
    label_smoothing : float
        Label smoothing of the cross-entropy (classification; Szegedy et al., CVPR 2016).
    lr_schedule : {"plateau", "cosine", "cosine_steps"}
        "plateau": early stopping as above. "cosine": cosine annealing of the learning rate
        to zero over exactly ``max_epochs`` epochs, keeping the final weights (no early
        stopping; with ~150 validation tracks the validation score is too noisy to pick an
        epoch reliably, and strong augmentation keeps the network from overfitting).
        "cosine_steps": the same annealing by optimizer step instead of by epoch, for a few
        epochs over a large set (with one epoch, "cosine" would keep the rate constant).
    loss : {"gaussian", "laplace"}
        Regression loss of the (location, log-variance) head (:func:`regression_loss`).
    rng : numpy.random.Generator
        Shuffling and augmentation randomness.

    Returns
    -------
    dict with ``best_epoch``, ``best_val_loss`` (the early-stopping score of
    :func:`_monitor`), ``epochs`` and the per-epoch ``val_loss``.
    """
    from tqdm.auto import tqdm

    dtype_y = torch.long if task == "classification" else torch.float32
    yt = torch.as_tensor(y_train, dtype=dtype_y)
    yv = torch.as_tensor(y_val, dtype=dtype_y)
    net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    if task != "classification":
        check_regression_loss(loss)
    if lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max_epochs)
    elif lr_schedule == "cosine_steps":
        sizes = [len(b) for b in _batches(train.groups, batch_size, None)]
        n_steps = max_epochs * sum(n >= MIN_TRAIN_BATCH for n in sizes)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, n_steps))
    elif lr_schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.5, patience=patience // 3 + 1
        )
    else:
        raise ValueError(
            f"lr_schedule must be 'plateau', 'cosine' or 'cosine_steps', got {lr_schedule!r}"
        )
    best = (math.inf, 0, copy.deepcopy(net.state_dict()))
    history: list[float] = []
    bar = tqdm(range(max_epochs), desc=desc, disable=not verbose, leave=False)
    for epoch in bar:
        net.train()
        for idx in _batches(train.groups, batch_size, rng):
            if len(idx) < MIN_TRAIN_BATCH:
                continue
            xb = train.batch(idx, True, rng)
            opt.zero_grad(set_to_none=True)
            loss_b = _loss(
                task, _forward(net, xb, device), yt[idx].to(device), label_smoothing, loss
            )
            loss_b.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            if lr_schedule == "cosine_steps":
                sched.step()
        n_out = net.config["n_out"]
        out_val = torch.as_tensor(
            predict_net(net, val, len(y_val), n_out, device=device), dtype=torch.float32
        )
        with torch.no_grad():
            v = _monitor(task, out_val, yv)
        history.append(v)
        if lr_schedule == "plateau":
            sched.step(v)
        elif lr_schedule == "cosine":
            sched.step()
        if v < best[0] - 1e-4:
            best = (v, epoch, copy.deepcopy(net.state_dict()))
        bar.set_postfix(val_loss=f"{v:.4f}", best=f"{best[0]:.4f}")
        if lr_schedule != "plateau":
            # fixed schedule: the final weights, trained to the end of the annealing
            best = (v, epoch, None)
        elif epoch - best[1] >= patience:
            break
    bar.close()
    if best[2] is not None:
        net.load_state_dict(best[2])
    net.eval()
    return {
        "best_epoch": int(best[1]),
        "best_val_loss": float(best[0]),
        "epochs": len(history),
        "val_loss": [float(v) for v in history],
    }
