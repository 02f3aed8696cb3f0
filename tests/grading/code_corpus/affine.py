"""Submissions to code-affine-backward: affine_backward(dout, x, W) -> (dx, dW) for z = x W."""

from tests.grading.code_corpus.entry import correct, wrong

EX = "code-affine-backward"

ENTRIES = [
    correct("affine_matmul", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dx = dout @ W.T
    dW = x.T @ dout
    return dx, dW
"""),
    correct("affine_np_dot", EX, """
import numpy as np

def affine_backward(dout, x, W):
    \"\"\"Return (dx, dW).\"\"\"
    dx = np.dot(dout, W.T)  # (N, M) x (M, D)
    dW = np.dot(x.T, dout)  # (D, N) x (N, M)
    return (dx, dW)
""", note="np.dot, a parenthesised tuple"),
    correct("affine_triple_loop", EX, """
import numpy as np

def affine_backward(dout, x, W):
    N, D = x.shape
    M = W.shape[1]
    dx = np.zeros((N, D))
    dW = np.zeros((D, M))
    for n in range(N):
        for d in range(D):
            for m in range(M):
                dx[n, d] += dout[n, m] * W[d, m]
                dW[d, m] += x[n, d] * dout[n, m]
    return dx, dW
""", note="explicit loops"),
    correct("affine_pure_python", EX, """
def affine_backward(dout, x, W):
    N, D, M = len(x), len(W), len(W[0])
    dx = [[sum(dout[n][m] * W[d][m] for m in range(M)) for d in range(D)] for n in range(N)]
    dW = [[sum(x[n][d] * dout[n][m] for n in range(N)) for m in range(M)] for d in range(D)]
    return dx, dW
""", note="no numpy at all: a tuple of nested lists"),
    correct("affine_np_matrix", EX, """
import numpy as np

def affine_backward(dout, x, W):
    G, X, Wm = np.matrix(dout), np.matrix(x), np.matrix(W)
    return G * Wm.T, X.T * G
""", note="np.matrix, where * is the matrix product"),
    correct("affine_einsum", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dx = np.einsum("nm,dm->nd", dout, W)
    dW = np.einsum("nd,nm->dm", x, dout)
    return dx, dW
"""),
    correct("affine_list_of_lists", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dx = dout @ W.T
    dW = x.T @ dout
    return [dx.tolist(), dW.tolist()]  # plain Python lists
""", note="a list of two nested lists (graded as one ragged array before issue 10)"),
    correct("affine_float32", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dout, x, W = dout.astype(np.float32), x.astype(np.float32), W.astype(np.float32)
    dx = (dout @ W.T).astype(np.float32)
    dW = (x.T @ dout).astype(np.float32)
    return dx, dW
""", float32=True, note="computed and returned in float32"),
    correct("affine_reuses_x_buffer", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dW = x.T @ dout        # needs x before it is overwritten
    x[...] = dout @ W.T    # dx has the shape of x: reuse its memory
    return x, dW
""", in_place=True, note="writes dx into the input x in place (allowed here) and returns the input object"),
    correct("affine_cs231n_cache", EX, """
import numpy as np

def affine_forward(x, w):
    out = x.reshape(x.shape[0], -1).dot(w)
    cache = (x, w)
    return out, cache

def affine_backward_cached(dout, cache):
    x, w = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    return dx, dw

def affine_backward(dout, x, W):
    _, cache = affine_forward(x, W)
    return affine_backward_cached(dout, cache)
""", note="cs231n layer functions with a cache tuple"),
    correct("affine_big_debug_print", EX, """
import numpy as np

np.set_printoptions(precision=17, linewidth=200)

def affine_backward(dout, x, W):
    print("dout =", repr(dout))
    print("x =", repr(x))
    print("W =", repr(W))
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    for n in range(x.shape[0]):
        for m in range(W.shape[1]):
            dx[n] += dout[n, m] * W[:, m]
            dW[:, m] += x[n] * dout[n, m]
            print(f"--- row {n}, output {m} ---")
            print("dx so far:", repr(dx))
            print("dW so far:", repr(dW))
            print("x, W, dout:", repr(x), repr(W), repr(dout))
    print("result:", repr(dx), repr(dW))
    return dx, dW
""", big_print=True, note="prints every array at every step: far more than the output cap over the tests"),
    # --- wrong --------------------------------------------------------------------------------------------
    wrong("affine_dW_transposed", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dx = dout @ W.T
    dW = dout.T @ x  # (M, N) @ (N, D)
    return dx, dW
""", "transposed", note="dW comes out M×D, the transpose of the D×M gradient"),
    wrong("affine_returns_dW_first", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dx = dout @ W.T
    dW = x.T @ dout
    return dW, dx
""", "wrong_order"),
    wrong("affine_multiply_gate_no_swap", EX, """
import numpy as np

def affine_backward(dout, x, W):
    # each input times the summed upstream gradient (the inputs are not swapped)
    dx = x * dout.sum(axis=1, keepdims=True)
    dW = W * dout.sum(axis=0, keepdims=True)
    return dx, dW
""", "no_swap"),
    wrong("affine_averaged_over_batch", EX, """
import numpy as np

def affine_backward(dout, x, W):
    N = x.shape[0]
    dx = dout @ W.T / N
    dW = x.T @ dout / N  # average over the batch
    return dx, dW
""", "batch_mean"),
    wrong("affine_dx_flattened", EX, """
import numpy as np

def affine_backward(dout, x, W):
    dx = np.dot(dout, W.T).flatten()
    dW = np.dot(x.T, dout)
    return dx, dW
""", "squeezed", note="dx as a 1-D vector of N·D entries"),
    wrong("affine_outer_of_sums", EX, """
import numpy as np

def affine_backward(dout, x, W):
    # "each entry gets the total upstream gradient times the total weight": sums where products belong
    dx = dout.sum(axis=1, keepdims=True) * W.sum(axis=1)
    dW = x.sum(axis=0)[:, None] * dout.sum(axis=0)
    return dx, dW
""", None, note="outer products of sums: no named mistake"),
]
