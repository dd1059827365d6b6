"""Models of other frameworks, converted to ONNX, served as any ONNX model: a Keras (TensorFlow) model through
tf2onnx and scikit-learn models through skl2onnx, stored with ``set_model(..., "ONNX")`` and run by a store's own
serving loop (onnxruntime; TensorFlow and scikit-learn are needed only to convert). Each answer is compared with
the original model's own prediction. The converters are the ``convert`` extra (``pip install
'simdask[convert]'``); TensorFlow is imported once, by the Keras test only."""

from __future__ import annotations

import numpy as np
import pytest

import simdask

CONVERT = "pip install 'simdask[convert]'"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A client on a store with one serving loop of its own (models and tensors get names of their test)."""
    with simdask.Store(serve=1, run_dir=tmp_path_factory.mktemp("converted")) as store:
        with simdask.Client(store.address) as client:
            yield client


def run(client: simdask.Client, model: str, x: np.ndarray, n_outputs: int = 1) -> list[np.ndarray]:
    """The served model's answer to ``x`` (inputs and outputs named after the model)."""
    outputs = [f"{model}.out{i}" for i in range(n_outputs)]
    client.put_tensor(f"{model}.in", x)
    client.run_model(model, [f"{model}.in"], outputs, timeout=60)
    return client.get_tensors(outputs)


def test_a_keras_model_converted_with_tf2onnx_answers_as_keras_predicts(served):
    try:  # also a tensorflow that does not load here (built for another numpy or CPU) is a skip, saying why
        import tensorflow as tf
    except ImportError as error:
        pytest.skip(f"converting a Keras model needs tensorflow ({CONVERT}): {error}")
    tf2onnx = pytest.importorskip("tf2onnx", reason=f"converting a Keras model needs tf2onnx ({CONVERT})")
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((16,), name="field"),
            tf.keras.layers.Reshape((16, 1)),
            tf.keras.layers.Conv1D(4, 3, padding="same", activation="tanh"),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(2),
        ]
    )
    # tf2onnx.convert.from_keras does not read Keras 3 models (KeyError on a keras_tensor name):
    # convert the model's call as a tf.function, with a dynamic batch dimension.
    spec = [tf.TensorSpec((None, 16), tf.float32, name="field")]
    proto, _ = tf2onnx.convert.from_function(tf.function(model), input_signature=spec, opset=17)
    served.set_model("keras_surrogate", proto, "ONNX", tag="keras via tf2onnx")

    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    (y,) = run(served, "keras_surrogate", x)
    expected = model.predict(x, verbose=0)
    assert y.dtype == np.float32 and y.shape == (5, 2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def fitted(make_model, targets):
    """A scikit-learn model fitted on 64 samples of 3 features, and 5 new samples (float32, as converted)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 3))
    return make_model().fit(x, targets(x)), rng.standard_normal((5, 3)).astype(np.float32)


def test_a_scikit_learn_regressor_converted_with_skl2onnx_answers_as_it_predicts(served):
    pytest.importorskip("sklearn", reason=f"the scikit-learn models need scikit-learn ({CONVERT})")
    skl2onnx = pytest.importorskip("skl2onnx", reason=f"converting a scikit-learn model needs skl2onnx ({CONVERT})")
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model, x = fitted(lambda: make_pipeline(StandardScaler(), Ridge(alpha=0.1)), lambda x: x @ [1.0, -2.0, 0.5] + 0.3)
    served.set_model("sklearn_ridge", skl2onnx.to_onnx(model, x[:1], target_opset=17), "ONNX")
    (y,) = run(served, "sklearn_ridge", x)
    assert y.shape == (5, 1)
    np.testing.assert_allclose(y[:, 0], model.predict(x), rtol=1e-5, atol=1e-5)


def test_a_scikit_learn_classifier_answers_labels_and_probabilities(served):
    pytest.importorskip("sklearn", reason=f"the scikit-learn models need scikit-learn ({CONVERT})")
    skl2onnx = pytest.importorskip("skl2onnx", reason=f"converting a scikit-learn model needs skl2onnx ({CONVERT})")
    from sklearn.ensemble import RandomForestClassifier

    model, x = fitted(
        lambda: RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
        lambda x: (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5),
    )
    # zipmap off: the probabilities as one (n, classes) float tensor, not a list of dicts
    onnx_model = skl2onnx.to_onnx(model, x[:1], options={"zipmap": False}, target_opset=17)
    served.set_model("sklearn_forest", onnx_model, "ONNX")
    labels, probabilities = run(served, "sklearn_forest", x, n_outputs=2)
    assert labels.dtype == np.int64 and probabilities.shape == (5, 3)
    np.testing.assert_array_equal(labels, model.predict(x))
    np.testing.assert_allclose(probabilities, model.predict_proba(x), rtol=1e-5, atol=1e-6)
