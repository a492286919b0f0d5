"""A teacher's own exercise, outside the library: load it with ``--extra``.

    handgrad exercises run teacher --extra docs/teacher_exercise.py --explain
    handgrad exercises template teacher --extra docs/teacher_exercise.py -o answers.json
    handgrad exercises grade answers.json --extra docs/teacher_exercise.py

The exercise: the derivative of the softplus layer y_i = log(1 + exp(w x_i)) with respect to x and
w. The library computes it with its engine; the learner's formulas are checked with
``hg.check_vjp`` on the instance and on random ones, and the learner's value of dL/dw on the
instance is compared within a tolerance.
"""

import numpy as np

from handgrad.exercises import exercise
from handgrad.exercises.base import Result
from handgrad.exercises.grading import derivation_slot, text_slot, value_slot, vjp_slot


def softplus_layer(x, w):
    return (1 + (w * x).exp()).log()


def _instance(ctx):
    return {"g": np.asarray(ctx.params["g"], float), "x": np.asarray(ctx.params["x"], float),
            "w": float(ctx.params["w"])}


def _sample(rng, params):
    n = int(rng.integers(2, 7))
    return {"g": rng.standard_normal(n), "x": rng.standard_normal(n),
            "w": float(rng.standard_normal())}


VARIABLES = {"g": "dL/dy (a vector)", "x": "the input (a vector)", "w": "the scalar weight"}

SLOTS = [
    vjp_slot("dL/dx", "dL/dx in terms of g, x, w.", softplus_layer, ["x", "w"], 0, VARIABLES,
             _sample, _instance, example="g * w * sigmoid(w * x)"),
    vjp_slot("dL/dw", "dL/dw in terms of g, x, w.", softplus_layer, ["x", "w"], 1, VARIABLES,
             _sample, _instance, example="sum(g * x * sigmoid(w * x))"),
    value_slot("dL/dw on the instance", "The number dL/dw on the given x, w, g.",
               lambda ctx: ctx.result.value["dL/dw"], shape=[], rtol=1e-3),
    derivation_slot("derivation", "From dy_i/dx_i to the sigmoid: lines in x, w (each equal to "
                    "the one before).", {"x": "input", "w": "weight"},
                    lambda rng, p: {"x": rng.standard_normal(4),
                                    "w": float(rng.standard_normal())},
                    example=["w * exp(w * x) / (1 + exp(w * x))", "= w / (1 + exp(-w * x))",
                             "= w * sigmoid(w * x)"]),
    text_slot("comment", "Anything the grader should know."),
]


@exercise("teacher-softplus-backprop", ref="Teacher's sheet, question 1", slots=SLOTS,
          question="For y_i = log(1 + exp(w x_i)), give dL/dx and dL/dw in terms of g = dL/dy.",
          params=dict(x=[0.0, 1.0, -1.0], w=2.0, g=[1.0, 1.0, 2.0]),
          derivation="dy_i/dx_i = w sigmoid(w x_i), dy_i/dw = x_i sigmoid(w x_i); so "
                     "dL/dx = g w sigmoid(w x), dL/dw = sum_i g_i x_i sigmoid(w x_i).",
          answer="dL/dx = g w sigmoid(w x); dL/dw = sum g x sigmoid(w x)")
def softplus_backprop(x, w, g):
    import handgrad as hg

    xt = hg.tensor(np.asarray(x, float), dtype=hg.float64, requires_grad=True)
    wt = hg.tensor(float(w), dtype=hg.float64, requires_grad=True)
    gx, gw = hg.grad(softplus_layer(xt, wt), [xt, wt], hg.tensor(np.asarray(g, float),
                                                               dtype=hg.float64))
    return Result({"dL/dx": gx.numpy().tolist(), "dL/dw": float(gw.item())},
                  summary=f"dL/dx = {np.round(gx.numpy(), 4).tolist()}, dL/dw = "
                          f"{gw.item():.4g} (engine)")
