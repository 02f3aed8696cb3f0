"""The numpy reference engine: gates, graphs, forward and backward passes with a step trace, gradient check.

Knows nothing of Flask, the database or exercise files.
"""

from grader.engine.gates import GATES, Array, Gate, unbroadcast
from grader.engine.gradcheck import check_gradients, numeric_grad
from grader.engine.graph import Graph, GraphError, Solution, Step, TraceStep, to_json

__all__ = [
    "GATES", "Array", "Gate", "Graph", "GraphError", "Solution", "Step", "TraceStep",
    "check_gradients", "numeric_grad", "to_json", "unbroadcast",
]
