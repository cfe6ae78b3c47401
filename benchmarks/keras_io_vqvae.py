"""keras-io's VQ-VAE example at its own budget, with Chapter 8's own ``VectorQuantizer``, over several seeds.

    nice -n 19 python benchmarks/keras_io_vqvae.py --seeds 42 43 44   # 30 epochs a seed, one seed after another
    python benchmarks/run.py --report-only                            # its table into RESULTS.md

The reference (keras-io, *Vector-Quantized Variational Autoencoders*, Keras 3 version): MNIST's 60,000
training digits scaled to [-0.5, 0.5]; encoder Conv2D 32 and 64 (3x3, stride 2, ReLU) then a 1x1 Conv2D to
16 channels; 128 codes of 16 numbers (commitment cost 0.25); decoder Conv2DTranspose 64 and 32 (stride 2,
ReLU) then a linear Conv2DTranspose to 1 channel; loss MSE / variance of the training pixels + the quantiser's
losses; Adam (default learning rate), 30 epochs, batch 128. It reports the last epoch's reconstruction
loss, the mean over that epoch's training batches: 0.0431.

The quantiser is the chapter's: the solution notebook's set-up cell and its ``VectorQuantizer`` cell are run
here, unchanged, so that the figure measures the layer that the chapter teaches. Each seed's epochs are
written to ``keras_io_vqvae.json`` as they come, so an interrupted run keeps its finished epochs and seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "solutions" / "ch08_beyond_vae" / "ch08_beyond_vae.ipynb"
OUT = HERE / "keras_io_vqvae.json"
REPORTED, LATENT_DIM, NUM_CODES, EPOCHS, BATCH = 0.0431, 16, 128, 30, 128


def chapter_quantizer() -> type:
    """The chapter's VectorQuantizer class: its set-up cell and its VectorQuantizer cell, run as they are."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    ns: dict = {}
    for grade_id in ("ch08_setup", "ch08_vector_quantizer"):
        exec(compile(cells[grade_id], f"{NOTEBOOK.name}:{grade_id}", "exec"), ns)
    return ns["VectorQuantizer"]


def keras_io_vqvae(vector_quantizer: type):
    """keras-io's encoder and decoder around the chapter's quantizer (keras-io's layers, sizes and activations)."""
    import keras
    from keras import layers

    encoder = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", strides=2, padding="same"),
        layers.Conv2D(64, 3, activation="relu", strides=2, padding="same"),
        layers.Conv2D(LATENT_DIM, 1, padding="same")], name="encoder")
    decoder = keras.Sequential([
        keras.Input(shape=(7, 7, LATENT_DIM)),
        layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same"),
        layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same"),
        layers.Conv2DTranspose(1, 3, padding="same")], name="decoder")
    inputs = keras.Input(shape=(28, 28, 1))
    quantizer = vector_quantizer(NUM_CODES, LATENT_DIM, commitment_cost=0.25, name="vector_quantizer")
    return keras.Model(inputs, decoder(quantizer(encoder(inputs))), name="vq_vae"), encoder, quantizer


def run_seed(seed: int, vector_quantizer: type, x_train, x_test, variance: float, log) -> dict:
    import keras
    import numpy as np
    from keras import ops

    def reconstruction_loss(targets, outputs):  # keras-io's: the batch's MSE / the training pixels' variance
        return ops.mean(ops.square(targets - outputs)) / variance

    keras.utils.set_random_seed(seed)
    model, encoder, quantizer = keras_io_vqvae(vector_quantizer)
    # compile's loss plus the quantiser's add_loss is keras-io's total loss; the metric is its reconstruction loss.
    model.compile(optimizer=keras.optimizers.Adam(), loss=reconstruction_loss, metrics=[reconstruction_loss])
    epochs, start = [], time.perf_counter()

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs.append({"epoch": epoch + 1, "reconstruction_loss": float(logs["reconstruction_loss"]),
                           "loss": float(logs["loss"]), "seconds": time.perf_counter() - start,
                           "load": os.getloadavg()[0]})
            log(seed, epochs)

    model.fit(x_train, x_train, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[Record()])
    outputs = np.concatenate([np.asarray(model(x_test[i:i + 1000])) for i in range(0, len(x_test), 1000)])
    indices = np.concatenate([np.asarray(quantizer.code_indices(encoder(x_test[i:i + 1000])))
                              for i in range(0, len(x_test), 1000)])
    counts = np.bincount(indices.ravel(), minlength=NUM_CODES)
    p = counts[counts > 0] / counts.sum()
    return {"seed": seed, "epochs": epochs, "reconstruction_loss": epochs[-1]["reconstruction_loss"],
            "test_reconstruction_loss": float(np.mean((outputs - x_test) ** 2) / variance),
            "test_perplexity": float(np.exp(-(p * np.log(p)).sum())), "test_dead_codes": int((counts == 0).sum()),
            "seconds": time.perf_counter() - start}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    vector_quantizer = chapter_quantizer()  # its set-up cell seeds, quiets TensorFlow and picks the profile

    import keras
    import numpy as np

    (x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
    x_train = np.expand_dims(x_train, -1).astype("float32") / 255.0
    x_test = np.expand_dims(x_test, -1).astype("float32") / 255.0
    variance = float(np.var(x_train))  # keras-io: np.var(x_train / 255.0), before the shift
    x_train, x_test = x_train - 0.5, x_test - 0.5

    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.update({"reference": {"reported": REPORTED, "latent_dim": LATENT_DIM, "num_codes": NUM_CODES,
                                  "epochs": EPOCHS, "batch_size": BATCH, "train_images": len(x_train)},
                    "cores": os.cpu_count()})
    results.setdefault("seeds", {})

    def log(seed, epochs):
        results["seeds"][str(seed)] = {"seed": seed, "epochs": epochs, "running": True}
        args.out.write_text(json.dumps(results, indent=1))
        last = epochs[-1]
        print(f"seed {seed} epoch {last['epoch']}: reconstruction loss {last['reconstruction_loss']:.4f} "
              f"({last['seconds']:.0f} s, load {last['load']:.2f})", flush=True)

    for seed in args.seeds:
        results["seeds"][str(seed)] = run_seed(seed, vector_quantizer, x_train, x_test, variance, log)
        args.out.write_text(json.dumps(results, indent=1))
    finished = [r["reconstruction_loss"] for r in results["seeds"].values() if not r.get("running")]
    if finished:
        print(f"{len(finished)} seeds: {min(finished):.4f} to {max(finished):.4f}; keras-io reports {REPORTED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
