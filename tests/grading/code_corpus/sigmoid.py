"""Submissions to code-sigmoid-backward: sigmoid_backward(dout, z) -> dz = dout * s(z) * (1 - s(z))."""

from tests.grading.code_corpus.entry import correct, wrong

EX = "code-sigmoid-backward"

ENTRIES = [
    correct("sigmoid_textbook", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    return dout * s * (1 - s)
"""),
    correct("sigmoid_exp_quotient", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    e = np.exp(-z)
    return dout * e / (1 + e) ** 2
""", note="the derivative as e^-z / (1 + e^-z)^2"),
    correct("sigmoid_cosh_division", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    return dout / (2 + np.exp(z) + np.exp(-z))  # s(1 - s) = 1 / (2 + e^z + e^-z)
""", note="a float division trick"),
    correct("sigmoid_via_tanh", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 0.5 * (1 + np.tanh(0.5 * z))
    return dout * s * (1 - s)
"""),
    correct("sigmoid_negated_exponent", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(z))  # this is s(-z), but s(-z)(1 - s(-z)) = s(z)(1 - s(z))
    return dout * s * (1 - s)
""", note="looks like a sign slip, is correct by symmetry"),
    correct("sigmoid_in_place_dout", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1.0 / (1.0 + np.exp(-z))
    dout *= s * (1 - s)  # reuse the upstream buffer
    return dout
""", in_place=True, note="in place on dout (allowed here), returns the input object"),
    correct("sigmoid_float32", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    z = z.astype(np.float32)
    s = (1 / (1 + np.exp(-z))).astype(np.float32)
    return (dout.astype(np.float32) * s * (1 - s)).astype(np.float32)
""", float32=True),
    correct("sigmoid_math_loops", EX, """
import math
import numpy as np

def sigmoid_backward(dout, z):
    dz = np.empty_like(z)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            s = 1.0 / (1.0 + math.exp(-z[i, j]))
            dz[i, j] = dout[i, j] * s * (1.0 - s)
    return dz
""", note="explicit loops with math.exp"),
    correct("sigmoid_helpers", EX, """
import numpy as np

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))

def sigmoid_prime(x):
    return sigmoid(x) * (1.0 - sigmoid(x))

def sigmoid_backward(dout, z):
    return dout * sigmoid_prime(z)
"""),
    correct("sigmoid_stable_piecewise", EX, """
import numpy as np

def stable_sigmoid(z):
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out

def sigmoid_backward(dout, z):
    s = stable_sigmoid(z)
    return dout * (s - s ** 2)
""", note="the numerically stable sigmoid, s - s^2"),
    correct("sigmoid_np_matrix", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    Z = np.matrix(z)
    S = 1 / (1 + np.exp(-Z))
    return np.multiply(np.matrix(dout), np.multiply(S, 1 - S))
"""),
    correct("sigmoid_tolist", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    return [[float(v) for v in row] for row in dout * s * (1 - s)]
""", note="a nested list of Python floats"),
    correct("sigmoid_big_debug_print", EX, """
import numpy as np

np.set_printoptions(precision=17, linewidth=150)

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    dz = np.zeros_like(z)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            dz[i, j] = dout[i, j] * s[i, j] * (1 - s[i, j])
            print(f"i={i} j={j} z={z[i, j]!r} s={s[i, j]!r} dz={dz[i, j]!r}")
            print("z =", repr(z), "\\ns =", repr(s), "\\ndout =", repr(dout), "\\ndz =", repr(dz))
    return dz
""", big_print=True, note="prints every array at every entry: far more than the output cap"),
    # --- wrong --------------------------------------------------------------------------------------------
    wrong("sigmoid_forgot_local_gradient", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))  # computed, then forgotten
    dz = dout
    return dz
""", "forgot_local_grad"),
    wrong("sigmoid_times_output", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    return dout * s
""", "used_output"),
    wrong("sigmoid_times_input", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    return dout * z
""", "used_preactivation"),
    wrong("sigmoid_derivative_of_output", EX, """
import numpy as np

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def sigmoid_prime(x):
    return sigmoid(x) * (1 - sigmoid(x))

def sigmoid_backward(dout, z):
    h = sigmoid(z)
    return dout * sigmoid_prime(h)  # should be sigmoid_prime(z)
""", "derivative_at_output"),
    wrong("sigmoid_formula_fed_z", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    return dout * z * (1 - z)  # the h(1 - h) formula with z in it
""", "formula_on_input"),
    wrong("sigmoid_local_gradient_only", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)
""", "ignored_upstream"),
    wrong("sigmoid_squeezed", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    return np.squeeze(dout * s * (1 - s))
""", "squeezed", note="right except when N = 1, where np.squeeze drops the batch axis"),
    wrong("sigmoid_two_columns_only", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    dz = np.zeros_like(z)
    for i in range(z.shape[0]):
        for j in range(2):  # my test array had two columns
            s = 1 / (1 + np.exp(-z[i, j]))
            dz[i, j] = dout[i, j] * s * (1 - s)
    return dz
""", "hard_coded_size", note="loops over range(2): the columns beyond stay zero"),
    wrong("sigmoid_forgot_the_square", EX, """
import numpy as np

def sigmoid_backward(dout, z):
    e = np.exp(-z)
    return dout * e / (1 + e)  # the denominator should be squared
""", None, note="dout · (1 − s): no named mistake"),
]
