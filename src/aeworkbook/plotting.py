"""The figures every chapter needs, drawn the same way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

IMAGE_SIDE = 28


def _as_images(x: np.ndarray) -> np.ndarray:
    """Vectors of 784 pixels (or 28x28 images) as 28x28 images."""
    x = np.asarray(x)
    return x.reshape(len(x), IMAGE_SIDE, IMAGE_SIDE)


def show_image_rows(rows: Sequence[np.ndarray], labels: Sequence[str], n: int = 10, title: str | None = None):
    """One row of ``n`` images per array, labelled on the left: e.g. originals over reconstructions."""
    if len(rows) != len(labels):
        raise ValueError(f"got {len(rows)} rows but {len(labels)} labels")
    n = min(n, *(len(row) for row in rows))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.3 * len(rows)), squeeze=False)
    for axes_row, images, label in zip(axes, rows, labels):
        for ax, image in zip(axes_row, _as_images(images[:n])):
            ax.imshow(image, cmap="binary", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        axes_row[0].set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, n: int = 10, title: str | None = None):
    """Originals in the top row, their reconstructions below."""
    return show_image_rows([originals, reconstructions], ["original", "reconstructed"], n=n, title=title)


def show_image_grid(images: np.ndarray, n_cols: int = 10, title: str | None = None, gap: int = 2):
    """A grid of images, row by row (generated samples, interpolations), ``gap`` blank pixels apart.

    The grid is one picture in one set of axes: a figure of 225 small axes takes ten times as long to draw.
    """
    images = _as_images(images)
    n_rows = int(np.ceil(len(images) / n_cols))
    step = IMAGE_SIDE + gap
    mosaic = np.full((n_rows * step - gap, n_cols * step - gap), np.nan)  # NaN: drawn blank
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        mosaic[row * step:row * step + IMAGE_SIDE, col * step:col * step + IMAGE_SIDE] = image
    fig, ax = plt.subplots(figsize=(1.1 * n_cols, 1.1 * n_rows))
    ax.imshow(mosaic, cmap="binary", vmin=0.0, vmax=1.0)
    ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_maps(maps: Sequence[np.ndarray], titles: Sequence[str] | None = None, n_cols: int = 8,
              title: str | None = None, cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None):
    """A grid of 2-D arrays of any size, each on its own colour scale (or all from ``vmin`` to ``vmax``):
    filters, feature maps, patterns.

    Unlike the image helpers, nothing is assumed about the values: a learned filter
    has negative weights and a feature map is not limited to [0, 1].
    """
    maps = [np.asarray(m) for m in maps]
    if any(m.ndim != 2 for m in maps):
        raise ValueError(f"each map must be 2-D, got shapes {sorted({m.shape for m in maps})}")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"got {len(maps)} maps but {len(titles)} titles")
    n_cols = max(1, min(n_cols, len(maps)))
    n_rows = int(np.ceil(len(maps) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.4 * n_cols, 1.5 * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, values) in enumerate(zip(axes.flat, maps)):
        ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history, metrics: Sequence[str] = ("loss",), title: str | None = None):
    """Training and validation curves of a Keras ``History`` (or its ``.history`` dict), per epoch."""
    curves = getattr(history, "history", history)
    missing = [m for m in metrics if m not in curves]
    if missing:
        raise KeyError(f"no {missing} in the history; it has {sorted(curves)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        epochs = np.arange(1, len(curves[metric]) + 1)
        ax.plot(epochs, curves[metric], label="training")
        if f"val_{metric}" in curves:
            ax.plot(epochs, curves[f"val_{metric}"], label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
