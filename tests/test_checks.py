"""aeworkbook.checks: what the test cells use to see how an answer calls Keras."""

import keras
import numpy as np

from aeworkbook.checks import record_fit, same_array


def test_record_fit_binds_the_arguments_however_spelt_and_still_trains():
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3)])
    model.compile(loss="mse", optimizer="sgd")
    calls = record_fit(model)
    x = np.ones((8, 3), dtype="float32")
    history = model.fit(x, y=x, epochs=2, batch_size=4, verbose=0)
    model.fit(x=x, y=x, shuffle=False, validation_data=(x, x), verbose=0)
    assert len(history.history["loss"]) == 2
    assert [call["shuffle"] for call in calls] == [True, False]  # the default is filled in
    assert calls[0]["x"] is x and calls[0]["epochs"] == 2 and calls[0]["validation_data"] is None
    assert calls[1]["validation_data"][1] is x


def test_same_array_compares_values_and_refuses_what_is_not_an_array():
    assert same_array([[1, 2]], np.array([[1.0, 2.0]]))
    assert not same_array([1, 2], [[1, 2]])
    assert not same_array([1, 2], [1, 3])
    assert not same_array(object(), [1])
