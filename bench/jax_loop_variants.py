#!/usr/bin/env python
"""Why bidirlib keeps Keras's two loops on JAX's CPU: ways to write a bidirectional LSTM loop, timed in XLA.

Pure JAX, no Keras: each variant is one jitted function of the same weights (tutorial size by default: batch
32, 100 steps, 32 features, 64 units), timed for inference and for a gradient (`jax.value_and_grad` of a
mean square), interleaved round by round. Ratios are against `one_direction`, a single LSTM loop written as
Keras's cell computes it (the input and the recurrent product inside each step). A benchmark, not a test.

- `one_direction`: one LSTM loop, the yardstick;
- `two_loops`: two such loops, one per direction (what Keras's wrapper and bidirlib's separate path run);
- `stacked_batched`: one loop over both directions, states `(2, batch, units)`, one batched product a step
  (`bidirlib.fused.stacked`'s layout); the input products are done for every step before the loop;
- `stacked_two_products`: one loop carrying both directions, two plain products a step;
- `block_diagonal`: one loop, one product a step with a block-diagonal `(2 units, 8 units)` recurrent kernel;
- `recurrent_product_only`: one loop of nothing but `h @ U`, the floor of any LSTM loop at this size.

    python bench/jax_loop_variants.py --repeats 30     # writes bench/results/jax_loop_variants.json
"""

import argparse
import datetime
import os
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_bidirectional import write_results  # noqa: E402

DEFAULT_OUTPUT = pathlib.Path(__file__).resolve().parent / "results" / "jax_loop_variants.json"


def lstm_gates(z, c, units):
    """Keras's LSTM update from the pre-activations z = (i, f, g, o) and the previous cell state c."""
    i = jax.nn.sigmoid(z[..., :units])
    f = jax.nn.sigmoid(z[..., units : 2 * units])
    g = jnp.tanh(z[..., 2 * units : 3 * units])
    o = jax.nn.sigmoid(z[..., 3 * units :])
    c = f * c + i * g
    return o * jnp.tanh(c), c


def variants(batch, units):
    def one_loop(kernel, recurrent, bias, time_major):
        def step(carry, x_t):
            h, c = carry
            h, c = lstm_gates(x_t @ kernel + h @ recurrent + bias, c, units)
            return (h, c), h

        zeros = jnp.zeros((batch, units), time_major.dtype)
        return jax.lax.scan(step, (zeros, zeros), time_major)[1]

    def one_direction(p, x):
        return one_loop(p["kernel"][0], p["recurrent"][0], p["bias"][0], jnp.swapaxes(x, 0, 1))

    def two_loops(p, x):
        xs = jnp.swapaxes(x, 0, 1)
        forward = one_loop(p["kernel"][0], p["recurrent"][0], p["bias"][0], xs)
        backward = one_loop(p["kernel"][1], p["recurrent"][1], p["bias"][1], xs[::-1])[::-1]
        return jnp.concatenate([forward, backward], -1)

    def projections(p, x):
        xs = jnp.swapaxes(x, 0, 1)
        return xs @ p["kernel"][0] + p["bias"][0], xs[::-1] @ p["kernel"][1] + p["bias"][1]

    def stacked_batched(p, x):
        both = jnp.stack(projections(p, x), axis=1)  # (time, 2, batch, 4 units)

        def step(carry, z_t):
            h, c = carry
            h, c = lstm_gates(z_t + jnp.einsum("dbh,dhg->dbg", h, p["recurrent"]), c, units)
            return (h, c), h

        zeros = jnp.zeros((2, batch, units), x.dtype)
        ys = jax.lax.scan(step, (zeros, zeros), both)[1]
        return jnp.concatenate([ys[:, 0], ys[::-1, 1]], -1)

    def stacked_two_products(p, x):
        def step(carry, z_t):
            hf, cf, hb, cb = carry
            hf, cf = lstm_gates(z_t[0] + hf @ p["recurrent"][0], cf, units)
            hb, cb = lstm_gates(z_t[1] + hb @ p["recurrent"][1], cb, units)
            return (hf, cf, hb, cb), (hf, hb)

        zeros = jnp.zeros((batch, units), x.dtype)
        yf, yb = jax.lax.scan(step, (zeros,) * 4, projections(p, x))[1]
        return jnp.concatenate([yf, yb[::-1]], -1)

    def block_diagonal(p, x):
        zf, zb = projections(p, x)
        gates = 4 * units
        empty = jnp.zeros((units, gates), x.dtype)
        recurrent = jnp.block([[p["recurrent"][0], empty], [empty, p["recurrent"][1]]])

        def step(carry, z_t):
            h, c = carry
            z = z_t + h @ recurrent
            hf, cf = lstm_gates(z[:, :gates], c[:, :units], units)
            hb, cb = lstm_gates(z[:, gates:], c[:, units:], units)
            h, c = jnp.concatenate([hf, hb], -1), jnp.concatenate([cf, cb], -1)
            return (h, c), h

        zeros = jnp.zeros((batch, 2 * units), x.dtype)
        ys = jax.lax.scan(step, (zeros, zeros), jnp.concatenate([zf, zb], -1))[1]
        return jnp.concatenate([ys[:, :, :units], ys[::-1, :, units:]], -1)

    def recurrent_product_only(p, x):
        def step(h, x_t):
            z = h @ p["recurrent"][0]
            return z[:, :units] * 0.5 + x_t[:, :1], None

        return jax.lax.scan(step, jnp.zeros((batch, units), x.dtype), jnp.swapaxes(x, 0, 1))[0]

    return {
        "one_direction": one_direction,
        "two_loops": two_loops,
        "stacked_batched": stacked_batched,
        "stacked_two_products": stacked_two_products,
        "block_diagonal": block_diagonal,
        "recurrent_product_only": recurrent_product_only,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="the JSON results file ('-' for none)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    rng = np.random.default_rng(0)
    gates = 4 * args.units
    params = {
        name: jnp.asarray(0.1 * rng.standard_normal(shape).astype("float32"))
        for name, shape in (("kernel", (2, args.features, gates)), ("recurrent", (2, args.units, gates)),
                            ("bias", (2, gates)))
    }
    x = jnp.asarray(rng.standard_normal((args.batch, args.steps, args.features)).astype("float32"))
    functions = {}
    for name, function in variants(args.batch, args.units).items():
        functions[(name, "inference")] = jax.jit(function)
        functions[(name, "gradient")] = jax.jit(jax.value_and_grad(lambda p, x, f=function: jnp.mean(f(p, x) ** 2)))
    for function in functions.values():  # compile, warm up
        for _ in range(3):
            jax.block_until_ready(function(params, x))
    # The bidirectional variants compute the same outputs (a timing of a wrong loop would mean nothing).
    reference = np.asarray(functions[("two_loops", "inference")](params, x))
    for name in ("stacked_batched", "stacked_two_products", "block_diagonal"):
        np.testing.assert_allclose(np.asarray(functions[(name, "inference")](params, x)), reference, atol=1e-5)
    times = {key: [] for key in functions}
    order = np.random.default_rng(1)
    keys = list(functions)
    for _ in range(args.repeats):
        for index in order.permutation(len(keys)):
            start = time.perf_counter()
            jax.block_until_ready(functions[keys[index]](params, x))
            times[keys[index]].append(time.perf_counter() - start)

    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs; batch {args.batch}, "
          f"{args.steps} steps, {args.features} features, {args.units} units; {args.repeats} rounds")
    print(f"{'variant':<24}{'inference ms':>13}{'ratio':>7}{'gradient ms':>13}{'ratio':>7}")
    rows = {}
    for name in variants(args.batch, args.units):
        cells, rows[name] = [], {}
        for task in ("inference", "gradient"):
            paired = np.array(times[(name, task)]) / np.array(times[("one_direction", task)])
            q1, median, q3 = np.percentile(paired, [25, 50, 75])
            rows[name][task] = {"median_s": float(np.median(times[(name, task)])),
                                "ratio": {"median": float(median), "q1": float(q1), "q3": float(q3)}}
            cells.append(f"{1e3 * np.median(times[(name, task)]):>13.2f}{median:>7.2f}")
        print(f"{name:<24}" + "".join(cells))
    meta = {
        "command": ("python bench/jax_loop_variants.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "shape": {"batch": args.batch, "steps": args.steps, "features": args.features, "units": args.units},
        "repeats": args.repeats,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }
    write_results(args.output, {"meta": meta, "variants": rows})


if __name__ == "__main__":
    main()
