"""Hidden tests for adam: seeded random inputs and purpose-built edge cases.

Tolerances (float64 throughout; a float32 submission fails, as the handout says):
- One step (sgd_momentum_step, rmsprop_step, adam_step) is a handful of
  float64 operations on O(1) values: rtol 1e-9, atol 1e-12. Rounding is
  about 1e-16; a relative slip of 1e-6 in an update of size 0.01 is already
  10 times the tolerance.
- adam_optimize feeds each iterate back into the gradient, so rounding can
  compound: histories get rtol 1e-8, atol 1e-10. Measured gap between the
  reference and torch.optim.Adam over 300 Rosenbrock steps: 1.3e-15 relative.
- cosine_lr is one cosine: rtol 1e-12, atol 1e-15 (atol for the value 0
  at total_steps, where rounding leaves at most lr0 * 1e-16 or so).
- The eps tests use gradients of about 1e-8 (the size of eps), where eps
  inside the square root, or no eps, changes the step by lr/2 or more. With
  ordinary gradients the difference is about eps/|dw| of the update, far
  below any tolerance: only these inputs show the mistake.

Where adam_optimize calls adam_step, a mistake in adam_step is charged to
adam_step's tests only: see check_adam_optimize.
"""

import numpy as np

from autograder.assignments.adam.public_tests import TIGHT, check_adam_optimize
from autograder.testing import FunctionSpec, case, check, unpack

SCHEDULE = {"rtol": 1e-12, "atol": 1e-15}
ADAM = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
RETURNS = {"sgd_momentum_step": 2, "rmsprop_step": 2, "adam_step": 3}


def _check_step(sub, ref, name, args, kwargs, outputs):
    """Call step function ``name`` on both sides; compare the leading ``outputs`` in order."""
    got = unpack(getattr(sub, name)(*args, **kwargs), RETURNS[name], name)
    expected = getattr(ref, name)(*args, **kwargs)
    for label, value, want in zip(outputs, got, expected):
        check(f"{label} returned by {name}", value, want, **TIGHT)


def _normal(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in shapes]


def _quadratic(seed, n):
    """A well-conditioned positive definite 1/2 w'Aw + b'w in n variables."""
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(n, n))
    return FunctionSpec("quadratic", A=Q @ Q.T / n + np.eye(n), b=rng.normal(size=n))


def _tiny_gradient():
    """Gradients of about 1e-8, one exactly 0: where eps decides the step."""
    return 1e-8 * np.array([1.0, -3.0, 0.5, 0.0, 2.0, -0.25])


# --- sgd_momentum_step ---------------------------------------------------------------------

@case(hint="v is the exponential average beta*v + (1-beta)*dw (not torch's beta*v + dw), "
           "and w moves by lr times the new v.")
def sgd_exponential_average_not_torch_form(sub, ref):
    w, dw, v = _normal(11, (3, 4), (3, 4), (3, 4))
    _check_step(sub, ref, "sgd_momentum_step", (w, dw, v), {"lr": 0.05, "beta": 0.8},
                ("w", "v"))


@case(hint="Update v first, then move w with the new v; check the defaults lr=0.01, beta=0.9.")
def sgd_defaults_from_zero_velocity(sub, ref):
    w, dw = _normal(12, (5,), (5,))
    _check_step(sub, ref, "sgd_momentum_step", (w, dw, np.zeros(5)), {}, ("w", "v"))


@case(hint="The step works elementwise on arrays of any shape, here (2, 3).")
def sgd_matrix_shapes_several_steps(sub, ref):
    w, v = _normal(13, (2, 3), (2, 3))
    for k, dw in enumerate(_normal(14, *[(2, 3)] * 4), start=1):
        got = unpack(sub.sgd_momentum_step(w, dw, v, lr=0.1, beta=0.5), 2, "sgd_momentum_step")
        w, v = ref.sgd_momentum_step(w, dw, v, lr=0.1, beta=0.5)
        check(f"w returned by sgd_momentum_step at step {k}", got[0], w, **TIGHT)
        check(f"v returned by sgd_momentum_step at step {k}", got[1], v, **TIGHT)


# --- rmsprop_step --------------------------------------------------------------------------

@case(hint="s = beta2*s + (1-beta2)*dw**2 first; then w moves by lr*dw/(sqrt(s) + eps) "
           "with the new s.")
def rmsprop_random_state(sub, ref):
    w, dw = _normal(21, (4, 3), (4, 3))
    s = np.random.default_rng(22).uniform(0.01, 2.0, size=(4, 3))
    _check_step(sub, ref, "rmsprop_step", (w, dw, s), {"lr": 0.005, "beta2": 0.9, "eps": 1e-6},
                ("w", "s"))


@case(hint="Where eps goes matters only for tiny gradients: it is added after the square "
           "root, sqrt(s) + eps.")
def rmsprop_eps_outside_sqrt_tiny_gradients(sub, ref):
    dw = _tiny_gradient()
    w = np.linspace(-1.0, 1.5, 6)
    s = np.array([0.0, 0.0, 1e-18, 0.0, 4e-18, 0.0])
    _check_step(sub, ref, "rmsprop_step", (w, dw, s), {"lr": 0.01, "beta2": 0.99, "eps": 1e-8},
                ("w",))


@case(hint="Check the defaults in the signature: lr=0.01, beta2=0.99, eps=1e-8.")
def rmsprop_defaults(sub, ref):
    w, dw = _normal(23, (6,), (6,))
    s = np.random.default_rng(24).uniform(0.0, 0.5, size=6)
    _check_step(sub, ref, "rmsprop_step", (w, dw, s), {}, ("w", "s"))


# --- adam_step -----------------------------------------------------------------------------

@case(hint="Bias correction divides by 1 - beta**t with the t you are given (it counts from "
           "1): m by 1 - beta1**t, v by 1 - beta2**t.")
def adam_step_bias_correction_later_t(sub, ref):
    (w,) = _normal(31, (5,))
    m, v = np.zeros(5), np.zeros(5)
    for t, dw in enumerate(_normal(32, *[(5,)] * 6), start=1):
        w, m, v = ref.adam_step(w, dw, m, v, t, **ADAM)
    (dw,) = _normal(33, (5,))
    _check_step(sub, ref, "adam_step", (w, dw, m, v, 7), ADAM, ("w", "m", "v"))


@case(hint="Where eps goes matters only for tiny gradients: it is added after the square "
           "root, sqrt(v_hat) + eps; without it a zero gradient divides 0 by 0.")
def adam_step_eps_outside_sqrt_tiny_gradients(sub, ref):
    dw = _tiny_gradient()
    w = np.linspace(1.0, -1.5, 6)
    _check_step(sub, ref, "adam_step", (w, dw, np.zeros(6), np.zeros(6), 1), ADAM, ("w",))


@case(hint="m = beta1*m + (1-beta1)*dw and v = beta2*v + (1-beta2)*dw**2; the arguments come "
           "in the order (w, dw, m, v, t, lr, beta1, beta2, eps).")
def adam_step_moment_weights(sub, ref):
    w, dw, m = _normal(34, (4,), (4,), (4,))
    v = np.random.default_rng(35).uniform(0.1, 1.0, size=4)
    _check_step(sub, ref, "adam_step", (w, dw, m, v, 3, 0.02, 0.7, 0.8, 1e-6), {},
                ("w", "m", "v"))


@case(hint="Check the defaults in the signature: lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8; "
           "the step works on arrays of any shape.")
def adam_step_defaults_matrix(sub, ref):
    w, dw0, dw = _normal(36, (2, 3), (2, 3), (2, 3))
    _, m, v = ref.adam_step(w, dw0, np.zeros((2, 3)), np.zeros((2, 3)), 1)
    _check_step(sub, ref, "adam_step", (w, dw, m, v, 2), {}, ("w", "m", "v"))


# --- adam_optimize -------------------------------------------------------------------------

@case(hint="Start from m = v = 0 and t = 1; each step takes the gradient at the current w.")
def adam_optimize_first_steps(sub, ref):
    check_adam_optimize(sub, ref, _quadratic(41, 3), np.array([1.0, -2.0, 0.5]), 2, lr=0.1)


@case(hint="history has shape (steps + 1, *w0.shape), w0 first, then each iterate; if you "
           "update w in place, store a copy of it.")
def adam_optimize_history_shape_and_w0_first(sub, ref):
    (w0,) = _normal(42, (2, 3))
    check_adam_optimize(sub, ref, _quadratic(43, 6), w0, 15, lr=0.05)


@case(hint="Each step takes the gradient at the current w; t counts from 1.")
def adam_optimize_rosenbrock(sub, ref):
    spec = FunctionSpec("rosenbrock", a=1.0, b=100.0)
    check_adam_optimize(sub, ref, spec, np.array([-1.2, 1.0]), 300, **{**ADAM, "lr": 0.02})


@case(hint="Each call starts afresh from m = v = 0: nothing may carry over from an "
           "earlier call.")
def adam_optimize_fresh_state_per_call(sub, ref):
    check_adam_optimize(sub, ref, _quadratic(44, 3), np.array([2.0, 0.0, -1.0]), 20, lr=0.1,
                        label_suffix=" (first call)")
    check_adam_optimize(sub, ref, _quadratic(45, 3), np.array([-1.0, 1.0, 3.0]), 20, lr=0.1,
                        label_suffix=" (second call)")


@case(hint="Pass lr, beta1, beta2 and eps on to every step.")
def adam_optimize_passes_hyperparameters(sub, ref):
    check_adam_optimize(sub, ref, _quadratic(46, 2), np.array([1.5, -0.5]), 30,
                        lr=0.05, beta1=0.5, beta2=0.9, eps=1e-2)


@case(hint="With steps = 0, history holds w0 alone: shape (1, *w0.shape).")
def adam_optimize_zero_steps(sub, ref):
    check_adam_optimize(sub, ref, _quadratic(47, 3), np.array([0.5, 1.0, -1.0]), 0)


# --- cosine_lr -----------------------------------------------------------------------------

@case(hint="lr0/2 * (1 + cos(pi * step / total_steps)): lr0 at step 0, 0 at total_steps; "
           "return one float.")
def cosine_lr_schedule(sub, ref):
    for step, total, lr0 in ((0, 7, 0.3), (7, 7, 0.3), (2, 8, 1.0), (750, 1000, 2e-3),
                             (1, 3, 5.0)):
        check(f"cosine_lr({step}, {total}, {lr0})", sub.cosine_lr(step, total, lr0),
              ref.cosine_lr(step, total, lr0), **SCHEDULE)
