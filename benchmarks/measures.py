"""What the benchmark measures in each chapter, run *inside* the kernel that executed the notebook.

:mod:`run` executes a solution notebook unchanged, with two cells of its own added:
after the set-up cell, :func:`install_fit_recorder` (wall time and epochs of every
``fit``); at the end, :func:`measure_chapter`, which reads the models the notebook
trained by their names, measures them on the validation split and writes JSON and
figures. No model code lives here: the only models this module trains are the
notebooks' own builders in a reference's set-up (``reference setup`` rows).

Reconstruction metrics are computed here from ``predict`` on the validation split,
so they never include a regularisation penalty; Keras's ``val_loss`` (penalty
included) is reported beside them where a reference quotes it.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt  # the kernel's own backend: the executed notebook keeps its figures (saved ones are closed)
import numpy as np

from aeworkbook.linear import pca_components, principal_angles
from aeworkbook.plotting import plot_history, show_image_rows

FITS: list[dict] = []
EPSILON = 1e-7  # Keras clips probabilities the same way in its binary cross-entropy
N_SHOW = 10


# --- recording what the notebook trains ---------------------------------------------------------

def install_fit_recorder() -> None:
    """Wrap ``keras.Model.fit`` so that every call records its model, wall time, epochs and history."""
    original = keras.Model.fit
    if getattr(original, "_benchmark_recorder", False):
        return

    @functools.wraps(original)  # keeps fit's signature visible to code that inspects it (chapter 6's tests)
    def fit(self, *args, **kwargs):
        start = time.perf_counter()
        history = original(self, *args, **kwargs)
        x = args[0] if args else kwargs.get("x")
        FITS.append({"model": self, "seconds": time.perf_counter() - start, "epochs": len(history.epoch),
                     "batch_size": kwargs.get("batch_size", args[2] if len(args) > 2 else None),
                     "train_size": len(x) if hasattr(x, "__len__") else None, "history": history.history})
        return history

    fit._benchmark_recorder = True
    keras.Model.fit = fit


def fit_record(model) -> dict:
    """The notebook's training of ``model``: summed wall time and epochs of its fit calls, the last history."""
    records = [r for r in FITS if r["model"] is model]
    if not records:
        raise LookupError(f"no fit call recorded for model {model.name!r}")
    return {"epochs": sum(r["epochs"] for r in records), "seconds": sum(r["seconds"] for r in records),
            "batch_size": records[-1]["batch_size"], "train_size": records[-1]["train_size"],
            "history": records[-1]["history"]}


# --- metrics ----------------------------------------------------------------------------------

def bce(targets: np.ndarray, outputs: np.ndarray) -> float:
    """Mean binary cross-entropy over pixels and images, outputs clipped to [1e-7, 1 - 1e-7] as Keras does."""
    outputs = np.clip(np.asarray(outputs, dtype=np.float64), EPSILON, 1 - EPSILON)
    targets = np.asarray(targets, dtype=np.float64)
    return float(np.mean(-(targets * np.log(outputs) + (1 - targets) * np.log(1 - outputs))))


def mse(targets: np.ndarray, outputs: np.ndarray) -> float:
    return float(np.mean((np.asarray(targets, dtype=np.float64) - outputs) ** 2))


def reconstruction(targets: np.ndarray, outputs: np.ndarray) -> dict:
    return {"val_bce": bce(targets, outputs), "val_mse": mse(targets, outputs)}


class PCA:
    """PCA fitted on the training split: project onto the first ``n`` components and back."""

    def __init__(self, x_train: np.ndarray, n_components: int):
        self.n = n_components
        self.center = x_train.mean(axis=0)
        self.components = pca_components(x_train, n_components)

    def codes(self, x: np.ndarray) -> np.ndarray:
        return (x - self.center) @ self.components.T

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.codes(x) @ self.components + self.center

    def explained_variance(self, x_train: np.ndarray) -> float:
        centered = x_train - self.center
        return float(np.sum((centered @ self.components.T) ** 2) / np.sum(centered ** 2))


def pca_row(pca: PCA, x_train: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> dict:
    """PCA with the model's number of components, on the same inputs and targets as the model."""
    return {"components": pca.n, **reconstruction(targets, pca.reconstruct(inputs)),
            "explained_variance": pca.explained_variance(x_train)}


def noise_ratio(outputs: np.ndarray, corrupted: np.ndarray, clean: np.ndarray) -> float:
    """The chapter's denoising ratio, MSE(output, clean) / MSE(corrupted, clean), from given outputs."""
    return mse(clean, outputs) / mse(clean, corrupted)


# --- figures -----------------------------------------------------------------------------------

class Figures:
    """Saves the chapter's figures into ``folder`` and remembers their file names."""

    def __init__(self, chapter: str, folder: Path):
        self.chapter, self.folder, self.names = chapter, folder, []
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, fig, name: str) -> str:
        file_name = f"{self.chapter}_{name}.png"
        fig.savefig(self.folder / file_name, dpi=72, bbox_inches="tight")
        plt.close(fig)
        self.names.append(file_name)
        return file_name

    def curves(self, key: str, label: str, history: dict) -> str:
        metrics = [m for m in ("loss", "mse") if m in history]
        fig = plot_history(history, metrics=metrics, title=label)
        for ax in fig.axes:  # the first epoch would flatten the rest of a linear scale
            ax.set_yscale("log")
            ax.set_ylabel(f"{ax.get_ylabel()} (log scale)")
        return self.save(fig, f"curves_{key}")

    def rows(self, name: str, rows: list, labels: list, title: str) -> str:
        return self.save(show_image_rows([np.asarray(r)[:N_SHOW] for r in rows], labels, n=N_SHOW, title=title), name)


# --- the chapters ------------------------------------------------------------------------------

def model_row(key: str, label: str, model, data: str, setup: str, figures: Figures, **values) -> dict:
    record = fit_record(model)
    figures.curves(key, label, record["history"])
    last = record["history"]
    row = {"key": key, "label": label, "data": data, "setup": setup, "epochs": record["epochs"],
           "batch_size": record["batch_size"], "train_size": record["train_size"],
           "wall_seconds": record["seconds"], "params": model.count_params()}
    if "val_loss" in last:
        row["keras_val_loss"] = float(last["val_loss"][-1])  # what Keras reports, penalties included
    row.update(values)
    return row


def train_reference_setup(model, x_train, x_val, epochs: int, batch_size: int, recompile: bool = False,
                          seed: int = 42) -> None:
    """Train a model from one of the notebook's builders in a reference's set-up: its epochs and batch size and,
    with ``recompile``, Géron's loss and optimiser (MSE, Nadam) in place of the builder's (BCE, Adam)."""
    keras.utils.set_random_seed(seed)
    if recompile:
        model.compile(loss="mse", optimizer="nadam", metrics=["mse"])
    model.fit(x_train, x_train, epochs=epochs, batch_size=batch_size, shuffle=True,
              validation_data=(x_val, x_val), verbose=0)


def ch01_simple_sparse(ns: dict, figures: Figures) -> list[dict]:
    mnist = ns["mnist"]
    x_val = mnist.x_val
    rows = []

    cloud, decoder = ns["cloud"], ns["linear_decoder"]
    angles = principal_angles(ns["decoder_directions"](decoder, 2), pca_components(cloud, 2))
    cloud_pca = PCA(cloud, 2)
    rows.append(model_row(
        "linear", "linear AE 3-2-3 on a point cloud", ns["linear_ae"], "200 points near a plane in 3-D",
        "Dense(2)-Dense(3), no activation, MSE, SGD(0.5)", figures,
        figure={"name": "largest principal angle to PCA's plane (degrees)", "value": float(angles.max())},
        cloud_mse=mse(cloud, ns["linear_ae"].predict(cloud, verbose=0)),
        pca={"components": 2, "cloud_mse": mse(cloud, cloud_pca.reconstruct(cloud))}))

    pca32 = PCA(mnist.x_train, 32)
    simple, sparse = ns["simple_ae"], ns["sparse_ae"]
    simple_out, sparse_out = simple.predict(x_val, verbose=0), sparse.predict(x_val, verbose=0)
    simple_code = float(ns["simple_encoder"].predict(x_val, verbose=0).mean())
    sparse_code = float(ns["sparse_encoder"].predict(x_val, verbose=0).mean())
    test_out = simple.predict(mnist.x_test, verbose=0)
    rows.append(model_row(
        "simple", "simple AE 784-32-784", simple, "MNIST", "ReLU code, sigmoid output, BCE, Adam", figures,
        **reconstruction(x_val, simple_out), test_bce=bce(mnist.x_test, test_out),
        figure={"name": "mean code activation", "value": simple_code},
        pca=pca_row(pca32, mnist.x_train, x_val, x_val)))
    rows.append(model_row(
        "sparse", "sparse AE 784-32-784, L1 1e-4", sparse, "MNIST", "as simple + L1(1e-4) activity penalty on the code",
        figures, **reconstruction(x_val, sparse_out),
        figure={"name": "mean code activation", "value": sparse_code, "plain": simple_code},
        pca=pca_row(pca32, mnist.x_train, x_val, x_val)))

    figures.rows("reconstructions", [x_val, pca32.reconstruct(x_val), simple_out, sparse_out],
                 ["original", "PCA 32", "simple\n32", "sparse\n32 (L1)"], "Chapter 1: validation digits")
    return rows


def ch02_deep(ns: dict, figures: Figures) -> list[dict]:
    mnist = ns["mnist"]
    x_val = mnist.x_val
    pca32, pca2 = PCA(mnist.x_train, 32), PCA(mnist.x_train, 2)
    outputs = {name: ns[name].predict(x_val, verbose=0) for name in ("simple_ae", "deep_ae", "ae_2d")}
    rows = [
        model_row("simple", "simple AE 784-32-784 (the comparison model)", ns["simple_ae"], "MNIST",
                  "ReLU code, sigmoid output, BCE, Adam", figures, **reconstruction(x_val, outputs["simple_ae"]),
                  test_bce=bce(mnist.x_test, ns["simple_ae"].predict(mnist.x_test, verbose=0)),
                  pca=pca_row(pca32, mnist.x_train, x_val, x_val)),
        model_row("deep", "deep AE 784-128-64-32", ns["deep_ae"], "MNIST",
                  "mirrored decoder, ReLU, sigmoid output, BCE, Adam", figures,
                  **reconstruction(x_val, outputs["deep_ae"]),
                  test_bce=bce(mnist.x_test, ns["deep_ae"].predict(mnist.x_test, verbose=0)),
                  pca=pca_row(pca32, mnist.x_train, x_val, x_val)),
    ]

    knn, reference = ns["knn_accuracy"], slice(0, 10_000)
    codes_train = ns["encoder_2d"].predict(mnist.x_train[reference], verbose=0)
    codes_val = ns["encoder_2d"].predict(x_val, verbose=0)
    ae_accuracy = knn(codes_train, mnist.y_train[reference], codes_val, mnist.y_val, k=5)
    pca_accuracy = knn(pca2.codes(mnist.x_train[reference]), mnist.y_train[reference], pca2.codes(x_val), mnist.y_val, k=5)
    rows.append(model_row(
        "code2d", "deep AE 784-512-256-128-32-2 (2-D code)", ns["ae_2d"], "MNIST",
        "linear 2-D code, mirrored decoder, BCE, Adam", figures, **reconstruction(x_val, outputs["ae_2d"]),
        figure={"name": "5-NN accuracy of the 2-D validation codes", "value": ae_accuracy},
        pca={**pca_row(pca2, mnist.x_train, x_val, x_val), "figure": pca_accuracy}))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, codes, title in [(axes[0], codes_val, f"2-D autoencoder codes (5-NN {ae_accuracy:.1%})"),
                             (axes[1], pca2.codes(x_val), f"PCA, 2 components (5-NN {pca_accuracy:.1%})")]:
        points = ax.scatter(codes[:, 0], codes[:, 1], c=mnist.y_val, cmap="tab10", vmin=-0.5, vmax=9.5, s=3, alpha=0.7)
        ax.set_title(title)
    fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
    fig.suptitle(f"Chapter 2: the {len(x_val):,} validation digits at their 2-D codes")
    figures.save(fig, "codes2d")

    # Géron's stacked 100-30 autoencoder on Fashion-MNIST, built with this chapter's builder.
    fashion = ns["aw"].load_fashion_mnist(ns["PROFILE"]).flat()
    stacked, _, _ = ns["build_deep_autoencoder"](784, [100, 30])
    train_reference_setup(stacked, fashion.x_train, fashion.x_val, epochs=20, batch_size=32, recompile=True)
    stacked_out = stacked.predict(fashion.x_val, verbose=0)
    pca30 = PCA(fashion.x_train, 30)
    rows.append(model_row(
        "stacked_fashion", "reference set-up: build_deep_autoencoder(784, [100, 30])", stacked, "Fashion-MNIST",
        "the chapter's builder (ReLU, sigmoid output) in Géron's set-up: MSE, Nadam, 20 epochs", figures,
        **reconstruction(fashion.x_val, stacked_out), pca=pca_row(pca30, fashion.x_train, fashion.x_val, fashion.x_val)))

    figures.rows("reconstructions", [x_val, pca32.reconstruct(x_val), outputs["simple_ae"], outputs["deep_ae"],
                                     pca2.reconstruct(x_val), outputs["ae_2d"]],
                 ["original", "PCA 32", "simple\n32", "deep\n128-64-32", "PCA 2", "deep\n2-D code"],
                 "Chapter 2: validation digits")
    figures.rows("reconstructions_fashion", [fashion.x_val, pca30.reconstruct(fashion.x_val), stacked_out],
                 ["original", "PCA 30", "stacked\n100-30"], "Chapter 2 builder in Géron's set-up: Fashion-MNIST validation")
    return rows


def ch03_denoising(ns: dict, figures: Figures) -> list[dict]:
    mnist = ns["mnist"]
    x_val, noisy_val = mnist.x_val, ns["noisy_val"]
    masked_val = ns["add_masking_noise"](x_val, 0.5, seed=5)
    pca64 = PCA(mnist.x_train, 64)

    denoiser_out = ns["denoiser"].predict(noisy_val, verbose=0)
    pca_denoised = pca64.reconstruct(noisy_val)
    rows = [model_row(
        "gaussian", "denoiser 784-256-64-256-784, Gaussian noise 0.5", ns["denoiser"], "MNIST",
        "fixed noisy copies (factor 0.5) -> clean, BCE, Adam", figures,
        **reconstruction(x_val, denoiser_out),
        figure={"name": "denoising ratio, Gaussian 0.5 (validation)", "value": noise_ratio(denoiser_out, noisy_val, x_val),
                "test": ns["denoising_ratio"](ns["denoiser"], ns["noisy_test"], mnist.x_test)},
        pca={"components": 64, **reconstruction(x_val, pca_denoised),
             "figure": noise_ratio(pca_denoised, noisy_val, x_val)})]

    masked_outputs = {}
    for key, name, label, setup in [
            ("plain", "plain_ae", "plain AE 784-256-64-256-784", "clean -> clean, BCE, Adam"),
            ("dropout", "dropout_ae", "dropout(0.5) denoising AE 784-256-64-256-784", "Dropout(0.5) input layer, clean -> clean, BCE, Adam")]:
        model = ns[name]
        masked_outputs[key] = model.predict(masked_val, verbose=0)
        rows.append(model_row(
            key, label, model, "MNIST", setup, figures, **reconstruction(x_val, model.predict(x_val, verbose=0)),
            figure={"name": "denoising ratio, 50% masked (validation)",
                    "value": noise_ratio(masked_outputs[key], masked_val, x_val)},
            pca={**pca_row(pca64, mnist.x_train, x_val, x_val),
                 "figure": noise_ratio(pca64.reconstruct(masked_val), masked_val, x_val)}))

    # Géron's dropout denoising autoencoder 100-30 on Fashion-MNIST, built with this chapter's builder.
    fashion = ns["aw"].load_fashion_mnist(ns["PROFILE"]).flat()
    geron, _, _ = ns["build_denoising_autoencoder"](784, [100, 30], corruption="dropout")
    train_reference_setup(geron, fashion.x_train, fashion.x_val, epochs=10, batch_size=32, recompile=True)
    geron_out = geron.predict(fashion.x_val, verbose=0)
    pca30 = PCA(fashion.x_train, 30)
    rows.append(model_row(
        "dropout_fashion", "reference set-up: build_denoising_autoencoder(784, [100, 30], 'dropout')", geron,
        "Fashion-MNIST", "the chapter's builder (Dropout(0.5) input, ReLU, sigmoid output) in Géron's set-up: MSE, Nadam, 10 epochs", figures,
        **reconstruction(fashion.x_val, geron_out), pca=pca_row(pca30, fashion.x_train, fashion.x_val, fashion.x_val)))

    figures.rows("reconstructions_gaussian", [noisy_val, denoiser_out, pca_denoised, x_val],
                 ["noisy\n(σ 0.5)", "denoiser", "PCA 64", "clean"], "Chapter 3: Gaussian noise, validation digits")
    figures.rows("reconstructions_masked", [masked_val, masked_outputs["plain"], masked_outputs["dropout"],
                                            pca64.reconstruct(masked_val), x_val],
                 ["50% masked", "plain AE", "dropout AE", "PCA 64", "clean"], "Chapter 3: masking noise, validation digits")
    figures.rows("reconstructions_fashion", [fashion.x_val, pca30.reconstruct(fashion.x_val), geron_out],
                 ["original", "PCA 30", "dropout\n100-30"], "Chapter 3 builder in Géron's set-up: Fashion-MNIST validation")
    return rows


def ch04_kl_divergence(ns: dict, figures: Figures) -> list[dict]:
    fashion = ns["fashion"]
    x_val = fashion.x_val
    rows, outputs = [], {}

    def coding_figure(encoder) -> dict:
        means = encoder.predict(x_val, verbose=0).mean(axis=0)
        return {"name": "mean activation of the 300 coding neurons (target 0.1)", "value": float(means.mean()),
                "near_target": float(np.mean(np.abs(means - 0.1) < 0.05))}

    for key, name, setup in [("plain", "plain", "no penalty"),
                             ("kl", "KL sparse", "KLDivergenceRegularizer(weight=5e-3, target=0.1)")]:
        model = ns["autoencoders"][name]
        outputs[key] = model.predict(x_val, verbose=0)
        rows.append(model_row(
            key, f"coding AE 784-100-300-100-784, {name}", model, "Fashion-MNIST",
            f"sigmoid 300-unit code, {setup}, MSE, Nadam", figures, **reconstruction(x_val, outputs[key]),
            figure=coding_figure(ns["encoders"][name])))

    # Géron's L1 sparse autoencoder: the chapter's own build_coding_autoencoder with an L1 activity penalty.
    l1_model, l1_encoder = ns["build_coding_autoencoder"](keras.regularizers.L1(1e-4))
    train_reference_setup(l1_model, fashion.x_train, x_val, epochs=10, batch_size=32)
    outputs["l1"] = l1_model.predict(x_val, verbose=0)
    rows.append(model_row(
        "l1", "reference set-up: build_coding_autoencoder(L1(1e-4))", l1_model, "Fashion-MNIST",
        "the chapter's builder with Géron's L1 1e-4 penalty on the code: MSE, Nadam, 10 epochs", figures,
        **reconstruction(x_val, outputs["l1"]), figure=coding_figure(l1_encoder)))

    figures.rows("reconstructions", [x_val, outputs["plain"], outputs["kl"], outputs["l1"]],
                 ["original", "plain", "KL sparse", "L1 sparse"], "Chapter 4: Fashion-MNIST validation images")
    # The design notes' measured PCA baseline (32 components on Fashion-MNIST), as a check of the PCA used here.
    ns["_benchmark_baselines"] = [{"label": "PCA, 32 components", "data": "Fashion-MNIST",
                                   **pca_row(PCA(fashion.x_train, 32), fashion.x_train, x_val, x_val)}]
    return rows


def ch05_vae(ns: dict, figures: Figures) -> list[dict]:
    fashion = ns["fashion"]
    x_val = fashion.x_val
    vae, encoder, decoder = ns["vae"], ns["vae_encoder"], ns["vae_decoder"]
    mean, log_var, _ = (np.asarray(t) for t in encoder.predict(x_val, verbose=0))
    latent = float(np.mean(np.asarray(ns["latent_loss"](mean, log_var)))) / 784
    sampled = vae.predict(x_val, verbose=0)  # decodes sampled codings, as Keras's val_mse does
    from_mean = decoder.predict(mean, verbose=0)
    pca10 = PCA(fashion.x_train, 10)
    sampled_metrics = reconstruction(x_val, sampled)
    row = model_row(
        "vae", "VAE 784-150-100-10(μ, log σ²)-100-150-784", vae, "Fashion-MNIST",
        "sigmoid output, MSE + latent loss / 784, Nadam", figures, **sampled_metrics,
        figure={"name": "validation loss = MSE + latent loss / 784", "value": sampled_metrics["val_mse"] + latent,
                "latent": latent},
        from_mean=reconstruction(x_val, from_mean),
        pca=pca_row(pca10, fashion.x_train, x_val, x_val))
    figures.rows("reconstructions", [x_val, pca10.reconstruct(x_val), sampled, from_mean],
                 ["original", "PCA 10", "VAE\n(sampled)", "VAE\n(mean)"], "Chapter 5: Fashion-MNIST validation images")
    figures.save(ns["show_image_grid"](ns["generate_images"](decoder, 20, 10, seed=7), n_cols=10,
                                       title="Chapter 5: 20 images decoded from codings drawn from N(0, I)"), "generated")
    return [row]


def ch06_noisy_digits(x_val: np.ndarray, x_test: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The validation digits at the notebook's noise factor and the test digits at keras-io's 0.4: the same draws in
    every run, whatever seed trained the models."""
    rng = np.random.default_rng(11)
    return tuple(np.clip(x + factor * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
                 for x, factor in ((x_val, noise), (x_test, 0.4)))


def ch06_convolutional_sequence(ns: dict, figures: Figures) -> list[dict]:
    fashion = ns["fashion"]
    x_val, x_test = ns["x_val"], ns["x_test"]  # the digits with their channel axis
    outputs = {name: ns[name].predict(x_val, verbose=0)
               for name in ("dense_ae", "small_conv_ae", "upsample_conv_ae", "bottleneck_ae", "conv_ae")}
    rows = [
        model_row("dense98", "dense AE 784-98-784 (the comparison model)", ns["dense_ae"], "MNIST",
                  "ReLU code, sigmoid output, BCE, Adam", figures, **reconstruction(x_val, outputs["dense_ae"])),
        model_row("conv98", "conv AE [32, 2]: code 7x7x2 = 98", ns["small_conv_ae"], "MNIST",
                  "the chapter's builder, Conv2DTranspose decoder, BCE, Adam", figures,
                  **reconstruction(x_val, outputs["small_conv_ae"])),
        model_row("conv98_upsample", "conv AE [32, 2], UpSampling2D + Conv2D decoder: code 7x7x2 = 98",
                  ns["upsample_conv_ae"], "MNIST", "the chapter's builder, UpSampling2D + Conv2D decoder, BCE, Adam",
                  figures, **reconstruction(x_val, outputs["upsample_conv_ae"])),
        model_row("conv98_bottleneck", "conv AE [32, 32] + Dense(98) bottleneck: code 98", ns["bottleneck_ae"], "MNIST",
                  "the builder's [32, 32] encoder and Conv2DTranspose decoder with Dense(98, relu) and "
                  "Dense(1,568, relu) between them, BCE, Adam", figures, **reconstruction(x_val, outputs["bottleneck_ae"])),
        model_row("conv", "conv AE [32, 32] (keras-io): code 7x7x32 = 1,568", ns["conv_ae"], "MNIST",
                  "the chapter's builder, Conv2DTranspose decoder, BCE, Adam", figures,
                  **reconstruction(x_val, outputs["conv_ae"]),
                  test_bce=bce(x_test, ns["conv_ae"].predict(x_test, verbose=0))),
    ]

    # Both denoisers on the validation digits with noise of their own (factor as in the notebook).
    noise = ns["NOISE_FACTOR"]
    noisy_val, noisy_test = ch06_noisy_digits(x_val, x_test, noise)
    denoised = {name: ns[name].predict(noisy_val, verbose=0) for name in ("dense_denoiser", "conv_denoiser")}
    for key, name, label, setup in [
            ("dense_denoiser", "dense_denoiser", "dense denoiser 784-256-64-256-784 (Chapter 3's)", "noisy -> clean, BCE, Adam"),
            ("conv_denoiser", "conv_denoiser", "conv denoiser [32, 32], UpSampling2D + Conv2D decoder",
             "the chapter's builder, noisy -> clean, BCE, Adam")]:
        rows.append(model_row(
            key, label, ns[name], "MNIST", f"{setup}; Gaussian noise {noise}, clipped", figures,
            **reconstruction(x_val, denoised[name]),
            figure={"name": f"denoising ratio, Gaussian {noise} (validation)", "value": noise_ratio(denoised[name], noisy_val, x_val)}))
    # keras-io's denoiser is measured at noise 0.4 on the test digits: the same measure for ours, for a like-with-like line.
    conv_denoiser_row = next(row for row in rows if row["key"] == "conv_denoiser")
    conv_denoiser_row["test_bce_noise_0_4"] = bce(x_test, ns["conv_denoiser"].predict(noisy_test, verbose=0))

    seq_out = ns["seq_ae"].predict(fashion.x_val, verbose=0)
    mean_image = ns["mean_image"]
    rows.append(model_row(
        "seq2seq", "seq2seq AE LSTM 100-30 / RepeatVector / LSTM 100 (Géron's)", ns["seq_ae"], "Fashion-MNIST rows",
        "the chapter's builder: 28 steps of 28 pixels, sigmoid output, MSE, Nadam (learning rate 2e-3)", figures,
        **reconstruction(fashion.x_val, seq_out),
        figure={"name": "val MSE of the mean training image", "value": mse(fashion.x_val, np.broadcast_to(mean_image, fashion.x_val.shape))}))

    figures.rows("reconstructions", [x_val, outputs["dense_ae"], outputs["small_conv_ae"], outputs["bottleneck_ae"],
                                     outputs["conv_ae"]],
                 ["original", "dense\n98", "conv\n7x7x2", "conv +\nDense(98)", "conv\n7x7x32"], "Chapter 6: validation digits")
    figures.rows("denoised", [noisy_val, denoised["dense_denoiser"], denoised["conv_denoiser"], x_val],
                 ["noisy", "dense", "conv", "clean"], f"Chapter 6: Gaussian noise {noise}, validation digits")
    figures.rows("reconstructions_seq2seq", [fashion.x_val, seq_out], ["original", "seq2seq\n30"],
                 "Chapter 6: Fashion-MNIST validation images read row by row")
    return rows


def ch06_references(ns: dict, figures: Figures, names: list[str], seed: int) -> list[dict]:
    """Chapter 6's builders trained in the references' own set-ups (``run.py --references``), seeded with ``seed``.
    keras-io's denoiser trains on from its convolutional autoencoder, so naming it trains (and measures) both."""
    fashion, x_val, x_test = ns["fashion"], ns["x_val"], ns["x_test"]
    rows = []
    if "seq2seq_geron" in names:
        # Géron's recurrent autoencoder in his own budget (all 55,000 images, batches of 32, Nadam's default rate),
        # built by the chapter's builder, which compiles it as he does; the notebook trains it on a smaller budget.
        geron_seq, _, _ = ns["build_seq2seq_autoencoder"](28, 28, 30, 100)
        train_reference_setup(geron_seq, fashion.x_train, fashion.x_val, epochs=10, batch_size=32, seed=seed)
        rows.append(model_row(
            "seq2seq_geron", "reference set-up: build_seq2seq_autoencoder(28, 28, 30, 100)", geron_seq, "Fashion-MNIST rows",
            "the chapter's builder (sigmoid output) in Géron's set-up: MSE, Nadam, 10 epochs", figures,
            **reconstruction(fashion.x_val, geron_seq.predict(fashion.x_val, verbose=0))))
    if "conv_keras_io" in names or "conv_denoiser_keras_io" in names:
        # keras-io's convolutional autoencoder in its own set-up (all 60,000 training digits, 50 epochs in batches of
        # 128, validated on the 10,000 test digits); the notebook trains the same model on about 1/20 of this budget.
        keras_io, _, _ = ns["build_conv_autoencoder"]((28, 28, 1), [32, 32])
        all_digits = np.concatenate([ns["x_train"], x_val])
        train_reference_setup(keras_io, all_digits, x_test, epochs=50, batch_size=128, seed=seed)
        rows.append(model_row(
            "conv_keras_io", "reference set-up: build_conv_autoencoder((28, 28, 1), [32, 32])", keras_io, "MNIST",
            "the chapter's builder in keras-io's set-up: BCE, Adam, 50 epochs; validated on the 10,000 test digits",
            figures, **reconstruction(x_test, keras_io.predict(x_test, verbose=0))))
    if "conv_denoiser_keras_io" in names:
        # keras-io then trains the same model on as a denoiser: 100 epochs on noisy copies (factor 0.4, drawn once) of
        # the 60,000 training digits, validated on noisy test digits; here by the chapter's own train_conv_denoiser.
        keras.utils.set_random_seed(seed)
        ns["train_conv_denoiser"](keras_io, all_digits, x_test, 0.4, epochs=100, batch_size=128, seed=seed)
        _, noisy_test = ch06_noisy_digits(x_val, x_test, ns["NOISE_FACTOR"])
        rows.append(model_row(
            "conv_denoiser_keras_io", "reference set-up: keras-io's conv AE [32, 32], then 100 epochs as a denoiser", keras_io, "MNIST",
            "keras-io's set-up: the 50 clean epochs above, then train_conv_denoiser: 100 epochs, noisy -> clean, "
            "Gaussian noise 0.4, clipped; validated on noisy test digits",
            figures, **reconstruction(x_test, keras_io.predict(noisy_test, verbose=0))))
    return [{**row, "seeds": {str(seed): {key: row[key] for key in ("val_bce", "val_mse", "epochs", "wall_seconds")}}}
            for row in rows]


REFERENCE_SETUPS = {"ch06_convolutional_sequence": ch06_references}  # chapter -> its set-ups trained over seeds


def ch07_contractive_pretraining(ns: dict, figures: Figures) -> list[dict]:
    fashion = ns["fashion"]
    x_val, probe = fashion.x_val, fashion.x_test[:300]
    pca64, pca30 = PCA(fashion.x_train, 64), PCA(fashion.x_train, 30)
    rows, outputs = [], {}
    for key, label, model, encoder, setup in [
            ("plain", "plain AE 784-64-784 (sigmoid code)", ns["plain_ae"], ns["plain_encoder"], "no penalty"),
            ("contractive", "contractive AE 784-64-784", ns["contractive_ae"], ns["contractive_encoder"],
             f"ContractiveDense(64, weight={ns['CONTRACTION_WEIGHT']:g})")]:
        outputs[key] = model.predict(x_val, verbose=0)
        norms = ns["jacobian_norm"](encoder, probe)
        # The Jacobian's spectrum and the response to a move towards the nearest training image against a random
        # move of the same length, as the notebook's section computes them (its arrays, its functions).
        singular = ns["singular_values"][key]
        along = ns["code_response"](encoder, probe, ns["of_length"](ns["to_neighbour"], ns["STEP"]))
        across = ns["code_response"](encoder, probe, ns["of_length"](ns["random_moves"], ns["STEP"]))
        rows.append(model_row(
            key, label, model, "Fashion-MNIST", f"sigmoid code and output, {setup}, MSE, Nadam", figures,
            **reconstruction(x_val, outputs[key]),
            figure={"name": "median squared Jacobian norm on 300 test images", "value": float(np.median(norms)),
                    "code_change": float(ns["relative_code_change"](encoder, probe, 0.05)),
                    "singular_values": {"images": int(len(singular)), "rank_1": float(singular[:, 0].mean()),
                                        "rank_20": float(singular[:, 19].mean()), "rank_64": float(singular[:, -1].mean())},
                    "code_response": {"towards_neighbour": float(np.median(along)), "random": float(np.median(across)),
                                      "ratio": float(np.median(along / across)), "step": float(ns["STEP"])}},
            pca=pca_row(pca64, fashion.x_train, x_val, x_val)))
    outputs["layer_wise"] = ns["stacked_ae"].predict(x_val, verbose=0)
    rows.append(model_row(
        "layer_wise", "stacked 784-100-30, layer-wise pre-trained + fine-tuned", ns["stacked_ae"], "Fashion-MNIST",
        f"pretrain_layer_wise: {ns['PRETRAIN_EPOCHS']} epochs a level, then fine-tuned; MSE, Nadam", figures,
        **reconstruction(x_val, outputs["layer_wise"]),
        figure={"name": "val MSE before fine-tuning", "value": ns["pretrained_mse"],
                "pretrain_seconds": ns["pretrain_seconds"], "fine_tune_seconds": ns["fine_tune_seconds"]},
        pca=pca_row(pca30, fashion.x_train, x_val, x_val)))
    outputs["end_to_end"] = ns["end_to_end_ae"].predict(x_val, verbose=0)
    rows.append(model_row(
        "end_to_end", "stacked 784-100-30, end to end (the comparison)", ns["end_to_end_ae"], "Fashion-MNIST",
        "same architecture from random weights; MSE, Nadam", figures, **reconstruction(x_val, outputs["end_to_end"]),
        pca=pca_row(pca30, fashion.x_train, x_val, x_val)))
    figures.rows("reconstructions", [x_val, pca64.reconstruct(x_val), outputs["plain"], outputs["contractive"],
                                     pca30.reconstruct(x_val), outputs["layer_wise"], outputs["end_to_end"]],
                 ["original", "PCA 64", "plain\n64", "contractive\n64", "PCA 30", "layer-wise\n100-30",
                  "end to end\n100-30"], "Chapter 7: Fashion-MNIST validation images")
    # The chapter's own few-label and retrieval measurements, each feature set beside raw pixels and PCA.
    ns["_benchmark_at_work"] = {"labels": int(len(ns["y_few"])), "classifier_epochs": ns["CLASSIFIER_EPOCHS"],
                                "few_label_accuracy": ns["few_label_accuracy"], "precision_at_10": ns["precision_at_10"],
                                "queries": int(len(ns["queries"])),
                                "label_draws": ns["LABEL_DRAWS"],
                                "label_budgets": {method: {str(budget): [float(a) for a in ns["budget_accuracy"][method, budget]]
                                                           for budget in ns["LABEL_BUDGETS"]}
                                                  for method in ns["budget_methods"]}}
    label_budget_figure(figures, ns["budget_accuracy"], ns["budget_methods"], ns["LABEL_BUDGETS"], ns["LABEL_DRAWS"])
    return rows


def label_budget_figure(figures: Figures, accuracy: dict, methods: list, budgets: list, draws: int) -> str:
    """Chapter 7's label-budget curve: test accuracy, mean ± sd over the draws, for each method."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for method in methods:
        ax.errorbar(budgets, [accuracy[method, b].mean() for b in budgets],
                    yerr=[accuracy[method, b].std(ddof=1) for b in budgets], marker="o", capsize=3, label=method,
                    linestyle="--" if "pixels" in method or "PCA" in method else "-")
    ax.set_xscale("log")
    ax.set_xticks(budgets, [f"{b:,}" for b in budgets])
    ax.set_xlabel("labelled training images (the same number per class)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Chapter 7: the softmax classifier with few labels, mean ± sd over {draws} draws")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figures.save(fig, "label_budgets")


def ch08_beyond_vae(ns: dict, figures: Figures) -> list[dict]:
    fashion = ns["fashion"]
    x_val, rows, outputs = fashion.x_val, [], {}
    units = ns["units"]
    sweep = [(f"beta_{beta:g}", f"β-VAE, β = {beta:g}", ns["beta_vaes"][beta], ns["rate_distortion"][beta], units[beta], "")
             for beta in ns["BETAS"]]
    free_bits = ns["FREE_BITS"]
    sweep.append(("free_bits", f"β-VAE, β = {ns['BETAS'][-1]:g}, free bits {free_bits:g}", ns["free_bits_vae"],
                  ns["free_bits_rd"], ns["free_bits_units"], f", free bits {free_bits:g} nats a unit"))
    for key, label, model, rd, active, extra in sweep:
        outputs[key] = np.asarray(model.predict(x_val, verbose=0))  # decodes sampled codings, as the notebook's figures
        rows.append(model_row(
            key, f"{label}: 784-150-100-10(μ, log σ²)-100-150-784", model, "Fashion-MNIST",
            f"Chapter 5's VAE; distortion + β × rate{extra} (a custom train_step), Nadam", figures,
            **reconstruction(x_val, outputs[key]),
            figure={"name": "validation rate (nats); distortion; active units of 10", "value": rd["rate"],
                    "distortion": rd["distortion"], "active_units": active,
                    "chapter5_loss": (rd["distortion"] + rd["rate"]) / 784}))
    cvae_out = ns["cvae"].predict([x_val, ns["one_hot"](fashion.y_val)], verbose=0)
    rows.append(model_row(
        "cvae", "conditional VAE: [784 + 10]-150-100-10(μ, log σ²), [10 + 10]-100-150-784", ns["cvae"], "Fashion-MNIST",
        "one-hot label concatenated to the encoder's and the decoder's inputs; MSE + latent loss / 784, Nadam", figures,
        **reconstruction(x_val, cvae_out), train_size=len(ns["vae_images"]),  # fit's x is [images, labels]
        figure={"name": "test accuracy of a softmax classifier on the mean codes", "value": ns["code_accuracies"]["CVAE"],
                "unconditional": ns["code_accuracies"]["VAE (β = 1)"]}))

    digits_val = ns["digits_val"]
    vq_out = ns["vqvae"].predict(digits_val, verbose=0)
    perplexity, dead = ns["after_restore"]["usage"]
    rows.append(model_row(
        "vqvae", "VQ-VAE: conv 32-64-16, 7x7 codes of 64 vectors (294 bits)", ns["vqvae"], "MNIST",
        "keras-io's encoder and decoder (sigmoid output), VectorQuantizer(64, 16), MSE / pixel variance + VQ losses, "
        "Adam; dead codes restored once, then 2 more epochs", figures,
        **reconstruction(digits_val, vq_out),
        figure={"name": "normalised MSE (MSE / pixel variance, validation)",
                "value": mse(digits_val, vq_out) / ns["PIXEL_VARIANCE"], "perplexity": perplexity, "dead_codes": dead,
                "before_restore": {"perplexity": ns["before_restore"]["usage"][0], "dead_codes": ns["before_restore"]["usage"][1]},
                "same_bits_test_mse": ns["same_bits_mse"]}))
    continuous_out = ns["continuous_ae"].predict(digits_val, verbose=0)
    rows.append(model_row(
        "continuous", "continuous AE: the same conv encoder and decoder, a 7x7x1 sigmoid code", ns["continuous_ae"], "MNIST",
        "MSE / pixel variance, Adam; as many epochs as the VQ-VAE", figures, **reconstruction(digits_val, continuous_out)))

    figures.rows("reconstructions_beta", [x_val] + [outputs[key] for key, *_ in sweep],
                 ["original"] + [f"β {beta:g}" for beta in ns["BETAS"]] + ["β 16\nfree bits"],
                 "Chapter 8: Fashion-MNIST validation images through the β-VAEs")
    figures.rows("reconstructions_vq", [digits_val, vq_out, continuous_out],
                 ["original", "VQ-VAE\n294 bits", "continuous\n49 floats"], "Chapter 8: MNIST validation digits")
    ns["_benchmark_rate_distortion"] = [
        {"model": label, "rate": rd["rate"], "distortion": rd["distortion"], "active_units": active}
        for _, label, _, rd, active, _ in sweep]
    return rows


def ch09_at_work(ns: dict, figures: Figures) -> list[dict]:
    mnist, fashion = ns["mnist"], ns["fashion"]
    auroc = ns["detection_auroc"]
    rows = []
    normal_test, held_out = ns["normal_test"], ns["test_sets"][f"held-out digit {ns['HELD_OUT']}"]
    detector, pca = ns["digit_detector"], ns["pca_detector"]

    def detection(model, anomalies):
        return auroc(ns["anomaly_scores"](model, normal_test), ns["anomaly_scores"](model, anomalies))

    rows.append(model_row(
        "detector", f"deep AE 784-128-32-128-784, trained without the digit {ns['HELD_OUT']}", detector,
        f"MNIST digits other than {ns['HELD_OUT']}", "ReLU inside, sigmoid output, BCE, Adam", figures,
        **reconstruction(normal_test, detector.predict(normal_test, verbose=0)),
        figure={"name": f"AUROC, held-out {ns['HELD_OUT']}s against the other test digits",
                "value": detection(detector, held_out), "fashion": detection(detector, fashion.x_test),
                "pca": detection(pca, held_out), "pca_fashion": detection(pca, fashion.x_test)}))

    trap = {name: {"auroc": auroc(*pair)} for name, pair in ns["scores"].items()}
    for name in ("cross-entropy (-log-likelihood)", "VAE -ELBO"):
        inside, outside = ns["scores"][name]
        trap[name]["corrected"] = auroc(inside - ns["fashion_entropy"], outside - ns["mnist_entropy"])
    for key, model, score, setup in [
            ("likelihood", ns["fashion_detector"], "cross-entropy (-log-likelihood)", "ReLU inside, sigmoid output, BCE, Adam"),
            ("elbo", ns["fashion_vae"], "VAE -ELBO", "VAE 784-150-100-10-100-150-784, Bernoulli decoder, BCE + latent loss / 784, Adam")]:
        rows.append(model_row(
            key, f"Fashion-MNIST model scoring MNIST digits by {score}", model, "Fashion-MNIST", setup, figures,
            figure={"name": f"AUROC Fashion-MNIST → MNIST by {score}", "value": trap[score]["auroc"],
                    "corrected": trap[score]["corrected"], "mse_auroc": trap["squared error"]["auroc"]}))

    accuracy = {name: ns["spliced_accuracy"](ns["body"], ns["head"], ns["uncentred"](sae), mnist.x_test, mnist.y_test)
                for name, (sae, _, _) in ns["saes"].items()}
    # The notebook trains top-16 both ways over its seeds; the L1 SAE nearest in L0 gets the same seeds here.
    seed_reports = dict(ns["seed_reports"])
    seed_reports["L1 0.1"] = [ns["reports"]["L1 0.1"] if seed == 42 else ns["sae_report"](*ns["train_sae"](seed, l1=0.1)[1:])
                              for seed in ns["SEEDS"]]
    for name, (sae, _, _) in ns["saes"].items():
        report = ns["reports"][name]
        figure = {"name": "fraction of variance unexplained (test)", "value": report["fvu"], "l0": report["l0"],
                  "dead": report["dead"], "spliced": accuracy[name], "classifier": ns["classifier_accuracy"]}
        if name in seed_reports:
            figure |= {"seeds": ns["SEEDS"], "seed_dead": [r["dead"] for r in seed_reports[name]],
                       "seed_fvu": [r["fvu"] for r in seed_reports[name]]}
        setup = "centred, unit-norm decoder directions, MSE, Adam"
        if name.endswith("AuxK"):
            setup += f"; encoder initialised as the decoder's transpose, AuxK loss (k_aux {ns['K_AUX']}, weight 1/32)"
        rows.append(model_row(name.replace(" ", "_"), f"SAE 64-{ns['N_LATENTS']}-64, {name}", sae,
                              "the MNIST classifier's 64 hidden activations", setup, figures, figure=figure))
    return rows


CHAPTERS = {f.__name__: f for f in (ch01_simple_sparse, ch02_deep, ch03_denoising, ch04_kl_divergence, ch05_vae,
                                        ch06_convolutional_sequence,
                                        ch07_contractive_pretraining, ch08_beyond_vae,
                                        ch09_at_work)}


def measure_chapter(chapter: str, ns: dict, figure_dir: str, out_json: str, references: list[str] = (),
                    seed: int = 42) -> None:
    """Measure the chapter's trained models (read from the notebook's namespace ``ns``), then train the named
    reference set-ups of ``REFERENCE_SETUPS`` with ``seed``; write JSON."""
    start = time.perf_counter()
    fits_before = len(FITS)
    figures = Figures(chapter, Path(figure_dir))
    if chapter not in CHAPTERS:  # a new chapter: timed, but nobody has said yet which of its models to measure
        print(f"benchmarks/measures.py has no entry for {chapter}: its models are not measured")
    rows = CHAPTERS[chapter](ns, figures) if chapter in CHAPTERS else []
    if references and chapter in REFERENCE_SETUPS:
        rows += REFERENCE_SETUPS[chapter](ns, figures, list(references), seed)
    result = {"chapter": chapter, "profile": ns["PROFILE"].name, "models": rows, "figures": figures.names,
              "baselines": ns.get("_benchmark_baselines", []), "at_work": ns.get("_benchmark_at_work"),
              "rate_distortion": ns.get("_benchmark_rate_distortion"),
              "notebook_fits": [{"model": r["model"].name, "epochs": r["epochs"], "seconds": r["seconds"]}
                                for r in FITS[:fits_before]],
              "notebook_training_seconds": sum(r["seconds"] for r in FITS[:fits_before]),
              "measure_seconds": time.perf_counter() - start}
    Path(out_json).write_text(json.dumps(result, indent=1))
