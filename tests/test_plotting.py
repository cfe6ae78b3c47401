import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aeworkbook.plotting import plot_history, show_image_grid, show_image_rows, show_maps, show_reconstructions  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_reconstructions_two_labelled_rows_of_images():
    originals = np.random.default_rng(0).random((12, 784))
    fig = show_reconstructions(originals, originals[:, ::-1], n=5)
    assert len(fig.axes) == 10
    assert fig.axes[0].get_ylabel() == "original" and fig.axes[5].get_ylabel() == "reconstructed"
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(), originals[0, ::-1].reshape(28, 28))


def test_rows_use_the_fewest_images_and_check_labels():
    fig = show_image_rows([np.zeros((3, 28, 28)), np.ones((7, 784))], ["a", "b"], n=10)
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="2 rows but 1 labels"):
        show_image_rows([np.zeros((3, 784))] * 2, ["only one"])


def test_grid_places_images_row_by_row_with_blank_gaps():
    images = np.random.default_rng(1).random((7, 784))
    fig = show_image_grid(images, n_cols=3, title="samples")
    (ax,) = fig.axes
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (3 * 28 + 2 * 2, 3 * 28 + 2 * 2)
    np.testing.assert_allclose(mosaic[:28, :28], images[0].reshape(28, 28))
    np.testing.assert_allclose(mosaic[30:58, 30:58], images[4].reshape(28, 28))  # row 1, column 1
    np.testing.assert_allclose(mosaic[60:88, :28], images[6].reshape(28, 28))
    assert np.ma.getmaskarray(mosaic)[28:30].all() and np.ma.getmaskarray(mosaic)[60:, 30:].all(), \
        "the gaps and the cells after the last image stay blank"
    assert not ax.axison and fig._suptitle.get_text() == "samples"


def test_history_plots_training_and_validation():
    history = {"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2], "mse": [0.3, 0.2, 0.1]}
    fig = plot_history(history, metrics=["loss", "mse"])
    loss_ax, mse_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["training", "validation"]
    assert [line.get_label() for line in mse_ax.lines] == ["training"]
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), [3.5, 2.5, 2])


def test_history_names_a_missing_metric():
    with pytest.raises(KeyError, match="accuracy"):
        plot_history({"loss": [1]}, metrics=["accuracy"])


def test_maps_of_any_size_on_their_own_scale():
    maps = [np.arange(9.0).reshape(3, 3) - 4, np.ones((7, 5))]
    fig = show_maps(maps, titles=["filter", "map"], n_cols=8)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "filter"
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), maps[0])
    assert fig.axes[0].images[0].get_clim() == (-4.0, 4.0)
    assert len(show_maps([np.zeros((2, 2))] * 10, n_cols=4).axes) == 12
    with pytest.raises(ValueError, match="2-D"):
        show_maps([np.zeros((2, 2, 1))])
    with pytest.raises(ValueError, match="2 maps but 1 titles"):
        show_maps(maps, titles=["one"])


def test_maps_on_one_given_scale():
    fig = show_maps([np.full((2, 2), -3.0), np.zeros((2, 2))], vmin=-6, vmax=0)
    assert [ax.images[0].get_clim() for ax in fig.axes] == [(-6, 0), (-6, 0)]
