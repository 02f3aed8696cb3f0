"""Submissions to code-relu-backward: relu_backward(dout, z) -> dz, with relu'(0) = 0 and no in-place changes."""

from tests.grading.code_corpus.entry import correct, wrong

EX = "code-relu-backward"

ENTRIES = [
    correct("relu_mask_product", EX, """
import numpy as np

def relu_backward(dout, z):
    return dout * (z > 0)
"""),
    correct("relu_mask_first", EX, """
import numpy as np

def relu_backward(dout, z):
    return (z > 0) * dout
""", note="the boolean mask on the left"),
    correct("relu_np_where", EX, """
import numpy as np

def relu_backward(dout, z):
    return np.where(z > 0, dout, 0.0)
"""),
    correct("relu_cs231n_copy_then_zero", EX, """
import numpy as np

def relu_backward(dout, z):
    dx, x = None, z
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx
""", note="cs231n style: a copy, then zero where the input was not positive"),
    correct("relu_double_loop", EX, """
import numpy as np

def relu_backward(dout, z):
    rows, cols = z.shape
    dz = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            if z[i, j] > 0:
                dz[i, j] = dout[i, j]
            else:
                dz[i, j] = 0.0
    return dz
""", note="explicit loops"),
    correct("relu_float32", EX, """
import numpy as np

def relu_backward(dout, z):
    mask = (z > 0).astype(np.float32)
    return dout.astype(np.float32) * mask
""", float32=True),
    correct("relu_tolist", EX, """
import numpy as np

def relu_backward(dout, z):
    return (dout * (z > 0)).tolist()
""", note="one output as a nested list"),
    correct("relu_heaviside", EX, """
import numpy as np

def relu_backward(dout, z):
    return dout * np.heaviside(z, 0.0)  # H(0) = 0, the exercise's convention
"""),
    correct("relu_sign_clip", EX, """
import numpy as np

def relu_backward(dout, z):
    return dout * np.clip(np.sign(z), 0, 1)
""", note="sign(0) = 0 gives the right convention"),
    correct("relu_division_trick", EX, """
import numpy as np

def relu_backward(dout, z):
    # (|z| + z) / (2|z|) is 1 for z > 0 and 0 for z < 0; the (z == 0) keeps 0 / 0 out at zero
    local = (np.abs(z) + z) / (2 * np.abs(z) + (z == 0))
    return dout * local
""", note="a float division that is exact: 2z / 2z is 1.0"),
    correct("relu_np_matrix", EX, """
import numpy as np

def relu_backward(dout, z):
    return np.multiply(np.matrix(dout), np.matrix(z) > 0)
"""),
    correct("relu_cs231n_cache", EX, """
import numpy as np

def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache

def relu_backward_cached(dout, cache):
    x = cache
    return dout * (x > 0)

def relu_backward(dout, z):
    _, cache = relu_forward(z)
    return relu_backward_cached(dout, cache)
"""),
    # --- wrong --------------------------------------------------------------------------------------------
    wrong("relu_one_at_zero", EX, """
import numpy as np

def relu_backward(dout, z):
    return dout * (z >= 0)
""", "relu_one_at_zero", note="right everywhere except at exactly z = 0"),
    wrong("relu_zeroes_the_wrong_side", EX, """
import numpy as np

def relu_backward(dout, z):
    dx = dout.copy()
    dx[z > 0] = 0
    return dx
""", "relu_wrong_side"),
    wrong("relu_mask_only", EX, """
import numpy as np

def relu_backward(dout, z):
    return (z > 0).astype(float)
""", "ignored_upstream", note="the local gradient alone, dout never used"),
    wrong("relu_times_output", EX, """
import numpy as np

def relu_backward(dout, z):
    h = np.maximum(z, 0)
    return dout * h
""", "used_output"),
    wrong("relu_fixed_3x4", EX, """
import numpy as np

def relu_backward(dout, z):
    dz = np.zeros((3, 4))  # the size of my test arrays
    n, d = min(z.shape[0], 3), min(z.shape[1], 4)
    dz[:n, :d] = dout[:n, :d] * (z[:n, :d] > 0)
    return dz
""", "hard_coded_size", note="always returns 3×4"),
    wrong("relu_in_place_on_dout", EX, """
import numpy as np

def relu_backward(dout, z):
    dout[z <= 0] = 0
    return dout
""", None, in_place=True, note="the right numbers, but it changes dout in place, which this exercise forbids"),
]
