"""Submissions to code-three-layer-backward: three_layer_backward(x, y, W1, W2, W3) -> (dW1, dW2, dW3) for
relu -> relu -> sigmoid and L = ½ Σ (out − y)², summed over the batch."""

from tests.grading.code_corpus.entry import correct, wrong

EX = "code-three-layer-backward"

# The notes' recipe; wrong entries below change one line of it, as a student would.
TEXTBOOK = """
import numpy as np

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def three_layer_backward(x, y, W1, W2, W3):
    N = x.shape[0]
    z1 = x @ W1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ W2
    h2 = np.maximum(z2, 0)
    z3 = h2 @ W3
    out = sigmoid(z3)
    dout = out - y
    G3 = dout * out * (1 - out)
    dW3 = h2.T @ G3
    G2 = (G3 @ W3.T) * (z2 > 0)
    dW2 = h1.T @ G2
    G1 = (G2 @ W2.T) * (z1 > 0)
    dW1 = x.T @ G1
    return dW1, dW2, dW3
"""


def _edit(old: str, new: str) -> str:
    assert TEXTBOOK.count(old) == 1, old
    return TEXTBOOK.replace(old, new)


ENTRIES = [
    correct("three_layer_textbook", EX, TEXTBOOK),
    correct("three_layer_cs231n_layers", EX, """
import numpy as np

def affine_forward(x, w):
    return x.dot(w), (x, w)

def affine_backward(dout, cache):
    x, w = cache
    return dout.dot(w.T), x.T.dot(dout)

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx

def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out

def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)

def three_layer_backward(x, y, W1, W2, W3):
    a1, fc1 = affine_forward(x, W1)
    h1, r1 = relu_forward(a1)
    a2, fc2 = affine_forward(h1, W2)
    h2, r2 = relu_forward(a2)
    a3, fc3 = affine_forward(h2, W3)
    out, sc = sigmoid_forward(a3)
    loss = 0.5 * np.sum((out - y) ** 2)
    dout = out - y
    dh2, dW3 = affine_backward(sigmoid_backward(dout, sc), fc3)
    dh1, dW2 = affine_backward(relu_backward(dh2, r2), fc2)
    _, dW1 = affine_backward(relu_backward(dh1, r1), fc1)
    return dW1, dW2, dW3
""", note="cs231n layer functions with caches"),
    correct("three_layer_loops", EX, """
import math
import numpy as np

def matmul(a, b):
    n, k = a.shape
    m = b.shape[1]
    c = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            total = 0.0
            for t in range(k):
                total += a[i, t] * b[t, j]
            c[i, j] = total
    return c

def three_layer_backward(x, y, W1, W2, W3):
    z1 = matmul(x, W1)
    h1 = np.array([[v if v > 0 else 0.0 for v in row] for row in z1])
    z2 = matmul(h1, W2)
    h2 = np.array([[v if v > 0 else 0.0 for v in row] for row in z2])
    z3 = matmul(h2, W3)
    out = np.array([[1 / (1 + math.exp(-v)) for v in row] for row in z3])
    G3 = (out - y) * out * (1 - out)
    dW3 = matmul(h2.T, G3)
    G2 = matmul(G3, W3.T)
    for i in range(G2.shape[0]):
        for j in range(G2.shape[1]):
            if z2[i, j] <= 0:
                G2[i, j] = 0.0
    dW2 = matmul(h1.T, G2)
    G1 = matmul(G2, W2.T)
    for i in range(G1.shape[0]):
        for j in range(G1.shape[1]):
            if z1[i, j] <= 0:
                G1[i, j] = 0.0
    dW1 = matmul(x.T, G1)
    return dW1, dW2, dW3
""", note="every product an explicit loop"),
    correct("three_layer_einsum", EX, """
import numpy as np

def three_layer_backward(x, y, W1, W2, W3):
    z1 = np.einsum("nd,dh->nh", x, W1); h1 = np.maximum(z1, 0)
    z2 = np.einsum("nh,hk->nk", h1, W2); h2 = np.maximum(z2, 0)
    z3 = np.einsum("nh,hk->nk", h2, W3); out = 1 / (1 + np.exp(-z3))
    g3 = (out - y) * out * (1 - out)
    g2 = np.einsum("nk,hk->nh", g3, W3) * (z2 > 0)
    g1 = np.einsum("nk,hk->nh", g2, W2) * (z1 > 0)
    return np.einsum("nd,nh->dh", x, g1), np.einsum("nd,nh->dh", h1, g2), np.einsum("nd,nh->dh", h2, g3)
"""),
    correct("three_layer_float32", EX, """
import numpy as np

def three_layer_backward(x, y, W1, W2, W3):
    f = np.float32
    x, y, W1, W2, W3 = (a.astype(f) for a in (x, y, W1, W2, W3))
    z1 = x @ W1; h1 = np.maximum(z1, f(0))
    z2 = h1 @ W2; h2 = np.maximum(z2, f(0))
    z3 = h2 @ W3; out = (f(1) / (f(1) + np.exp(-z3))).astype(f)
    g3 = ((out - y) * out * (f(1) - out)).astype(f)
    g2 = ((g3 @ W3.T) * (z2 > 0)).astype(f)
    g1 = ((g2 @ W2.T) * (z1 > 0)).astype(f)
    return (x.T @ g1).astype(f), (h1.T @ g2).astype(f), (h2.T @ g3).astype(f)
""", float32=True, note="the whole network in float32"),
    correct("three_layer_sgd_step_in_place", EX, _edit("    return dW1, dW2, dW3", """\
    learning_rate = 0.1
    W1 -= learning_rate * dW1  # the training step, on the caller's weights
    W2 -= learning_rate * dW2
    W3 -= learning_rate * dW3
    G3 *= 0  # and some in-place work on its own arrays
    return dW1, dW2, dW3"""), in_place=True,
            note="updates the input weights in place after computing the gradients (allowed)"),
    correct("three_layer_list_of_lists", EX, _edit("    return dW1, dW2, dW3",
                                                   "    return [dW1.tolist(), dW2.tolist(), dW3.tolist()]"),
            note="a list of three nested lists (graded as one ragged array before issue 10)"),
    correct("three_layer_tuple_of_lists", EX, _edit("    return dW1, dW2, dW3",
                                                    "    return tuple(g.tolist() for g in (dW1, dW2, dW3))")),
    correct("three_layer_class", EX, """
import numpy as np

class ThreeLayerNet:
    def __init__(self, W1, W2, W3):
        self.params = {"W1": W1, "W2": W2, "W3": W3}
        self.cache = {}

    def forward(self, x):
        p, c = self.params, self.cache
        c["x"] = x
        c["z1"] = x.dot(p["W1"]); c["h1"] = np.where(c["z1"] > 0, c["z1"], 0.0)
        c["z2"] = c["h1"].dot(p["W2"]); c["h2"] = np.where(c["z2"] > 0, c["z2"], 0.0)
        c["out"] = 1.0 / (1.0 + np.exp(-c["h2"].dot(p["W3"])))
        return c["out"]

    def backward(self, y):
        p, c = self.params, self.cache
        grads = {}
        delta = (c["out"] - y) * c["out"] * (1.0 - c["out"])
        grads["W3"] = c["h2"].T.dot(delta)
        delta = np.where(c["z2"] > 0, delta.dot(p["W3"].T), 0.0)
        grads["W2"] = c["h1"].T.dot(delta)
        delta = np.where(c["z1"] > 0, delta.dot(p["W2"].T), 0.0)
        grads["W1"] = c["x"].T.dot(delta)
        return grads

def three_layer_backward(x, y, W1, W2, W3):
    net = ThreeLayerNet(W1, W2, W3)
    net.forward(x)
    grads = net.backward(y)
    return grads["W1"], grads["W2"], grads["W3"]
""", note="a class with a cache dict, np.where masks"),
    correct("three_layer_mask_from_h", EX, _edit("(z2 > 0)", "(h2 > 0)").replace("(z1 > 0)", "(h1 > 0)"),
            note="masks taken from the ReLU outputs: h > 0 exactly where z > 0"),
    correct("three_layer_np_matrix", EX, """
import numpy as np

def three_layer_backward(x, y, W1, W2, W3):
    X, Y = np.matrix(x), np.matrix(y)
    A, B, C = np.matrix(W1), np.matrix(W2), np.matrix(W3)
    z1 = X * A; h1 = np.multiply(z1, z1 > 0)
    z2 = h1 * B; h2 = np.multiply(z2, z2 > 0)
    out = 1 / (1 + np.exp(-(h2 * C)))
    d3 = np.multiply(np.multiply(out - Y, out), 1 - out)
    d2 = np.multiply(d3 * C.T, z2 > 0)
    d1 = np.multiply(d2 * B.T, z1 > 0)
    return X.T * d1, h1.T * d2, h2.T * d3
"""),
    correct("three_layer_big_debug_print", EX, """
import numpy as np

np.set_printoptions(precision=17, linewidth=120)

def show(name, a):
    print(f"{name}: shape {a.shape}")
    print(repr(a))
    for i, row in enumerate(np.atleast_2d(a)):
        for j, v in enumerate(row):
            print(f"  {name}[{i}, {j}] = {v!r}")

def three_layer_backward(x, y, W1, W2, W3):
    for name, a in (("x", x), ("y", y), ("W1", W1), ("W2", W2), ("W3", W3)):
        show(name, a)
    z1 = x @ W1; h1 = np.maximum(z1, 0)
    z2 = h1 @ W2; h2 = np.maximum(z2, 0)
    z3 = h2 @ W3; out = 1 / (1 + np.exp(-z3))
    for name, a in (("z1", z1), ("h1", h1), ("z2", z2), ("h2", h2), ("z3", z3), ("out", out)):
        show(name, a)
    print("loss =", 0.5 * np.sum((out - y) ** 2))
    G3 = (out - y) * out * (1 - out); show("G3", G3)
    G2 = (G3 @ W3.T) * (z2 > 0); show("G2", G2)
    G1 = (G2 @ W2.T) * (z1 > 0); show("G1", G1)
    dW1, dW2, dW3 = x.T @ G1, h1.T @ G2, h2.T @ G3
    for name, a in (("dW1", dW1), ("dW2", dW2), ("dW3", dW3)):
        show(name, a)
    print("=" * 5000)  # the end of this test's trace
    return dW1, dW2, dW3
""", big_print=True, note="prints every array and entry: far more than the output cap"),
    # --- wrong --------------------------------------------------------------------------------------------
    wrong("three_layer_y_minus_out", EX, _edit("dout = out - y", "dout = y - out"), "sign_error"),
    wrong("three_layer_factor_two", EX, _edit("dout = out - y", "dout = 2 * (out - y)  # d/dout of (out - y)^2"),
          "factor_two"),
    wrong("three_layer_no_sigmoid_gradient", EX, _edit("G3 = dout * out * (1 - out)", "G3 = dout"),
          "forgot_local_grad", note="the cross-entropy habit: out − y straight into the last layer"),
    wrong("three_layer_mean_loss", EX, _edit("dout = out - y", "dout = (out - y) / N  # mean over the batch"),
          "batch_mean"),
    wrong("three_layer_reversed_return", EX, _edit("    return dW1, dW2, dW3", "    return dW3, dW2, dW1"),
          "wrong_order", note="in the order the backward pass computes them"),
    wrong("three_layer_relu_ge", EX, _edit("(z2 > 0)", "(z2 >= 0)").replace("(z1 > 0)", "(z1 >= 0)"),
          "relu_one_at_zero"),
    wrong("three_layer_sigmoid_prime_of_out", EX, """
import numpy as np

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))

def three_layer_backward(x, y, W1, W2, W3):
    z1 = x @ W1; h1 = np.maximum(z1, 0)
    z2 = h1 @ W2; h2 = np.maximum(z2, 0)
    out = sigmoid(h2 @ W3)
    G3 = (out - y) * sigmoid_prime(out)  # should be sigmoid_prime(z3)
    G2 = (G3 @ W3.T) * (z2 > 0)
    G1 = (G2 @ W2.T) * (z1 > 0)
    return x.T @ G1, h1.T @ G2, h2.T @ G3
""", "derivative_at_output"),
    wrong("three_layer_dW2_transposed", EX, _edit("dW2 = h1.T @ G2", "dW2 = G2.T @ h1"), "transposed"),
    wrong("three_layer_with_l2", EX, _edit("    return dW1, dW2, dW3", """\
    reg = 1e-3  # L2 regularisation, as in the assignment this came from
    return dW1 + reg * W1, dW2 + reg * W2, dW3 + reg * W3"""), None,
          note="a regularisation term the loss does not have"),
]
