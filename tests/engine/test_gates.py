"""The gate rules of the notes, numerical stability, and the step trace of the seed 2-2-1 network."""

from __future__ import annotations

import numpy as np
import pytest

from grader.engine import GATES, Graph, unbroadcast

RNG = np.random.default_rng(2024)
ELEMENTWISE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity", "exp")


def rand(*shape: int) -> np.ndarray:
    return RNG.uniform(-2.0, 2.0, size=shape)


# --- the add, multiply and matrix-multiply gates -----------------------------------------------------------

def test_add_passes_the_gradient_on_to_both_inputs():
    a, b, g = rand(2, 3), rand(2, 3), rand(2, 3)
    da, db = GATES["add"].backward(g, a + b, a, b)
    np.testing.assert_array_equal(da, g)
    np.testing.assert_array_equal(db, g)


def test_sub_passes_the_gradient_on_and_negates_it_for_the_second_input():
    a, b, g = rand(2, 3), rand(2, 3), rand(2, 3)
    da, db = GATES["sub"].backward(g, a - b, a, b)
    np.testing.assert_array_equal(da, g)
    np.testing.assert_array_equal(db, -g)


def test_mul_swaps_its_inputs():
    a, b, g = rand(2, 3), rand(2, 3), rand(2, 3)
    da, db = GATES["mul"].backward(g, a * b, a, b)
    np.testing.assert_array_equal(da, g * b)
    np.testing.assert_array_equal(db, g * a)


def test_mul_swaps_its_inputs_in_the_one_by_one_gate_view():
    # The notes' multiply gate: z = w * x, upstream 2 -> dz/dw = x = -3, so dL/dw = -6; dL/dx = 2 * w = 8.
    w, x, g = np.array(4.0), np.array(-3.0), np.array(2.0)
    dw, dx = GATES["mul"].backward(g, w * x, w, x)
    assert (float(dw), float(dx)) == (-6.0, 8.0)


def test_matmul_backward_is_the_matrix_form_of_the_swap():
    a, b = rand(3, 2), rand(2, 4)
    g = rand(3, 4)
    da, db = GATES["matmul"].backward(g, a @ b, a, b)
    np.testing.assert_allclose(da, g @ b.T, rtol=1e-15)
    np.testing.assert_allclose(db, a.T @ g, rtol=1e-15)
    assert da.shape == a.shape and db.shape == b.shape


def test_matmul_backward_entry_by_entry():
    """dA[i, k] = sum_j G[i, j] * B[k, j]: each weight collects the gradient of every output it feeds."""
    a, b, g = rand(2, 3), rand(3, 2), rand(2, 2)
    da, db = GATES["matmul"].backward(g, a @ b, a, b)
    for i, k in np.ndindex(a.shape):
        assert da[i, k] == pytest.approx(sum(g[i, j] * b[k, j] for j in range(2)), rel=1e-13)
    for k, j in np.ndindex(b.shape):
        assert db[k, j] == pytest.approx(sum(a[i, k] * g[i, j] for i in range(2)), rel=1e-13)


# --- activation gates: the incoming gradient times the local gradient --------------------------------------

@pytest.mark.parametrize("op", ELEMENTWISE_ACTIVATIONS)
def test_activation_backward_multiplies_by_the_local_gradient(op):
    gate = GATES[op]
    z, g = rand(3, 4), rand(3, 4)
    out = gate.forward(z)
    local = gate.local_grad(out, z)
    (dz,) = gate.backward(g, out, z)
    np.testing.assert_array_equal(dz, g * local)


@pytest.mark.parametrize("op", ELEMENTWISE_ACTIVATIONS)
def test_activation_local_gradient_is_the_derivative_of_its_forward(op):
    gate = GATES[op]
    z = rand(3, 4)
    z[np.abs(z) < 0.01] = 0.5  # off the relu kink
    h = 1e-6
    numeric = (gate.forward(z + h) - gate.forward(z - h)) / (2 * h)
    np.testing.assert_allclose(gate.local_grad(gate.forward(z), z), numeric, rtol=1e-7, atol=1e-9)


def test_leaky_relu_option_sets_the_negative_slope():
    z = np.array([[-2.0, 3.0]])
    graph = Graph.parse(["h = leaky_relu(z, alpha=0.2)"], {"z": (1, 2)})
    solution = graph.solve({"z": z}, upstream={"h": np.ones((1, 2))})
    np.testing.assert_allclose(solution.values["h"], [[-0.4, 3.0]])
    np.testing.assert_allclose(solution.local_grads["h"], [[0.2, 1.0]])


def test_relu_gradient_at_exactly_zero_is_zero():
    z = np.array([[0.0, -0.0, 1.0, -1.0]])
    relu = GATES["relu"]
    out = relu.forward(z)
    np.testing.assert_array_equal(relu.local_grad(out, z), [[0.0, 0.0, 1.0, 0.0]])
    (dz,) = relu.backward(np.ones_like(z), out, z)
    np.testing.assert_array_equal(dz, [[0.0, 0.0, 1.0, 0.0]])


def test_softmax_backward_is_the_jacobian_applied_to_the_gradient():
    z, g = rand(1, 4), rand(1, 4)
    s = GATES["softmax"].forward(z)
    jacobian = np.diag(s[0]) - np.outer(s[0], s[0])
    (dz,) = GATES["softmax"].backward(g, s, z)
    np.testing.assert_allclose(dz[0], jacobian @ g[0], rtol=1e-12, atol=1e-15)


# --- unbroadcast -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("shape", "axes"),
    [((1, 4), (0,)), ((3, 1), (1,)), ((4,), (0,)), ((), (0, 1)), ((1, 1), (0, 1))],
)
def test_unbroadcast_sums_over_the_broadcast_axes(shape, axes):
    grad = rand(3, 4)
    reduced = unbroadcast(grad, shape)
    assert np.shape(reduced) == shape
    np.testing.assert_allclose(np.ravel(reduced), np.ravel(grad.sum(axis=axes)), rtol=1e-14)


def test_unbroadcast_leaves_a_same_shape_gradient_alone():
    grad = rand(3, 4)
    assert unbroadcast(grad, (3, 4)) is grad


def test_a_bias_row_collects_the_gradient_of_every_row():
    graph = Graph.parse(["z = add(a, b)"], {"a": (3, 2), "b": (1, 2)})
    g = rand(3, 2)
    solution = graph.solve({"a": rand(3, 2), "b": rand(1, 2)}, upstream={"z": g})
    np.testing.assert_allclose(solution.grads["b"], g.sum(axis=0, keepdims=True), rtol=1e-14)
    np.testing.assert_array_equal(solution.grads["a"], g)


def test_a_scalar_times_a_matrix_collects_the_whole_sum():
    graph = Graph.parse(["z = mul(k, M)"], {"k": (), "M": (2, 3)})
    m, g = rand(2, 3), rand(2, 3)
    solution = graph.solve({"k": np.array(1.5), "M": m}, upstream={"z": g})
    assert np.shape(solution.grads["k"]) == ()
    assert float(solution.grads["k"]) == pytest.approx(float(np.sum(g * m)), rel=1e-13)
    np.testing.assert_allclose(solution.grads["M"], 1.5 * g, rtol=1e-15)


# --- numerical stability -----------------------------------------------------------------------------------

def no_float_errors():
    return np.errstate(over="raise", invalid="raise", divide="raise")


def test_sigmoid_is_stable_at_plus_and_minus_1000():
    z = np.array([[-1000.0, 1000.0]])
    sigmoid = GATES["sigmoid"]
    with no_float_errors():
        out = sigmoid.forward(z)
        local = sigmoid.local_grad(out, z)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(local))
    assert out[0, 1] == 1.0
    assert 0.0 <= out[0, 0] < 1e-300
    assert 0.0 <= local[0, 0] < 1e-300 and local[0, 1] == 0.0


def test_sigmoid_keeps_its_relative_precision_far_out_on_the_negative_side():
    z = np.array([-30.0, -100.0, -700.0])
    exact = np.exp(z) / (1.0 + np.exp(z))
    np.testing.assert_allclose(GATES["sigmoid"].forward(z), exact, rtol=1e-14)


@pytest.mark.parametrize("shift", [1000.0, -1000.0, 1e6])
def test_softmax_is_stable_for_large_logits(shift):
    z = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0]])
    with no_float_errors():
        s = GATES["softmax"].forward(z + shift)
    np.testing.assert_allclose(s, GATES["softmax"].forward(z), rtol=1e-9)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-15)


@pytest.mark.parametrize("shift", [1000.0, -1000.0, 1e6])
def test_softmax_cross_entropy_is_stable_for_large_logits(shift):
    z = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    graph = Graph.parse(["L = softmax_cross_entropy(z, y)"], {"z": (2, 3), "y": (2, 3)})
    plain = graph.solve({"z": z, "y": y})
    with no_float_errors():
        shifted = graph.solve({"z": z + shift, "y": y})
    # Shifting every logit of a row by the same amount changes neither the loss nor its gradients.
    assert float(shifted.values["L"]) == pytest.approx(float(plain.values["L"]), rel=1e-9)
    np.testing.assert_allclose(shifted.grads["z"], plain.grads["z"], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(shifted.grads["y"], plain.grads["y"], rtol=1e-9)


def test_softmax_cross_entropy_of_a_confident_wrong_answer_is_large_but_finite():
    z = np.array([[1000.0, -1000.0]])
    y = np.array([[0.0, 1.0]])
    graph = Graph.parse(["L = softmax_cross_entropy(z, y)"], {"z": (1, 2), "y": (1, 2)})
    with no_float_errors():
        solution = graph.solve({"z": z, "y": y})
    assert float(solution.values["L"]) == pytest.approx(2000.0, rel=1e-12)
    np.testing.assert_allclose(solution.grads["z"], [[1.0, -1.0]], atol=1e-15)


# --- the step trace of the seed 2-2-1 network --------------------------------------------------------------

SEED_LINES = [
    "z1 = matmul(x, W1)",
    "h1 = sigmoid(z1)",
    "z2 = matmul(h1, W2)",
    "out = sigmoid(z2)",
    "L = half_sse(out, y)",
]
SEED_LEAVES = {
    "x": np.array([[0.1, 0.2]]),
    "y": np.array([[1.0]]),
    "W1": np.array([[0.3, 0.4], [0.5, 0.6]]),
    "W2": np.array([[0.7], [0.8]]),
}


@pytest.fixture(scope="module")
def seed_solution():
    graph = Graph.parse(SEED_LINES, {k: v.shape for k, v in SEED_LEAVES.items()})
    return graph.solve(SEED_LEAVES)


def test_the_trace_steps_through_the_gates_in_reverse_order(seed_solution):
    assert [t.node for t in seed_solution.trace] == ["L", "out", "z2", "h1", "z1"]
    assert [t.op for t in seed_solution.trace] == ["half_sse", "sigmoid", "matmul", "sigmoid", "matmul"]
    assert seed_solution.trace[-1].inputs == ("x", "W1")


def test_the_trace_shows_the_notebooks_chain(seed_solution):
    # The notebook's published numbers (8 decimals).
    steps = {t.node: t for t in seed_solution.trace}
    assert float(steps["out"].incoming[0, 0]) == pytest.approx(-0.30903174, abs=1e-8)
    assert float(steps["out"].local[0][0, 0]) == pytest.approx(0.21353112, abs=1e-8)
    assert float(steps["z2"].incoming[0, 0]) == pytest.approx(-0.06598789, abs=1e-8)
    assert float(steps["z2"].sends[0][0, 1]) == pytest.approx(-0.05279031, abs=1e-8)  # to h1[0, 1]
    assert float(steps["h1"].sends[0][0, 1]) == pytest.approx(-0.01311347, abs=1e-8)  # to z1[0, 1]


def test_the_seed_network_gives_the_notebooks_dw1_22(seed_solution):
    assert float(seed_solution.grads["W1"][1, 1]) == pytest.approx(-0.0026226946, abs=1e-9)
    z1_step = seed_solution.trace[-1]
    assert float(z1_step.sends[1][1, 1]) == pytest.approx(-0.0026226946, abs=1e-9)  # what the gate sends to W1


def test_each_trace_step_sends_incoming_times_local(seed_solution):
    """Activation steps: send = incoming * local; matmul steps: the local factors are the swapped inputs."""
    for step in seed_solution.trace:
        if step.op == "sigmoid":
            np.testing.assert_array_equal(step.sends[0], step.incoming * step.local[0])
        if step.op == "matmul":
            b_t, a_t = step.local
            np.testing.assert_allclose(step.sends[0], step.incoming @ b_t, rtol=1e-15)
            np.testing.assert_allclose(step.sends[1], a_t @ step.incoming, rtol=1e-15)


def test_the_trace_incoming_gradients_are_the_node_gradients(seed_solution):
    for step in seed_solution.trace:
        np.testing.assert_array_equal(step.incoming, seed_solution.grads[step.node])
