#!/usr/bin/env python
"""Sweep: where TensorFlow's BlockLSTM kernel beats the two separate LSTM loops, by the work of one step.

`bidirlib.fused` runs a bidirectional LSTM on TensorFlow through `BlockLSTM` (one kernel a direction)
only for a small LSTM (`BLOCK_LSTM_MAX_WEIGHTS`, `BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS`). This sweep is where
those limits come from: for each (batch, units, features) it times, interleaved in one process like
`bench_bidirectional.py`, the same model with the wrapper forced onto BlockLSTM, with it on the separate
path (`fused_path = "off"`), and a unidirectional LSTM, and prints the median paired ratios. Results go to
a JSON file that the performance chapter plots. A benchmark, not a test.

    python bench/sweep_block_lstm.py                      # the full grid (about 10 minutes on 2 cores)
    python bench/sweep_block_lstm.py --batch 32 --units 64 --features 32 --repeats 5
"""

import argparse
import datetime
import itertools
import os
import pathlib
import sys
import time

os.environ["KERAS_BACKEND"] = "tensorflow"  # BlockLSTM is a TensorFlow kernel
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench_bidirectional as bench  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "sweep_block_lstm.json"
VARIANTS = ("bidirlib", "bidirlib_separate", "unidirectional")


def sweep(batches, units_list, features_list, steps, repeats, warmup):
    from bidirlib.fused import step_multiply_adds, tf_block_lstm

    # Lift BlockLSTM's size limits (the kernel's own rules read them) in this process only: the sweep measures
    # what the limits would otherwise hide, and is where they come from.
    tf_block_lstm.BLOCK_LSTM_MAX_WEIGHTS = tf_block_lstm.BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS = float("inf")
    all_models = bench._keras_models
    bench._keras_models = lambda cell, size: {k: m for k, m in all_models(cell, size).items() if k in VARIANTS}
    rows = []
    for batch, units, features in itertools.product(batches, units_list, features_list):
        bench.SIZES["sweep"] = {"batch": batch, "steps": steps, "features": features, "units": units}
        record = bench.measure("tensorflow", "sweep", "lstm", repeats, warmup)
        paths = {task: p["last_call_path"] for task, p in record["paths"]["bidirlib"].items()}
        assert set(paths.values()) == {"tf_block_lstm"}, paths
        row = {"batch": batch, "units": units, "features": features, "steps": steps,
               "weights": (features + units) * 4 * units,
               "step_multiply_adds": step_multiply_adds(batch, features, units)}
        for task in bench.TASKS:
            paired = {name: record["ratios"][task][f"{name}/unidirectional"]["median"]
                      for name in ("bidirlib", "bidirlib_separate")}
            row[task] = {
                "block_lstm/unidirectional": paired["bidirlib"],
                "separate/unidirectional": paired["bidirlib_separate"],
                "block_lstm/separate": paired["bidirlib"] / paired["bidirlib_separate"],
            }
        rows.append(row)
        print(
            f"batch {batch:4d} units {units:4d} features {features:4d}: {row['step_multiply_adds']:>10,} "
            "multiply-adds a step; BlockLSTM/separate "
            + ", ".join(f"{task} {row[task]['block_lstm/separate']:.2f}" for task in bench.TASKS),
            flush=True,
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", nargs="+", type=int, default=[8, 16, 32, 64, 128, 256])
    parser.add_argument("--units", nargs="+", type=int, default=[32, 64, 128])
    parser.add_argument("--features", nargs="+", type=int, default=[32, 128])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per variant and task")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="the JSON results file ('-' for none)")
    args = parser.parse_args(argv)

    from bidirlib.fused import BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS, BLOCK_LSTM_MAX_WEIGHTS

    started, load_before = time.time(), os.getloadavg()
    rows = sweep(args.batch, args.units, args.features, args.steps, args.repeats, args.warmup)
    meta = {
        "command": ("python bench/sweep_block_lstm.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "versions": bench._versions(),
        "limits": {"weights": BLOCK_LSTM_MAX_WEIGHTS, "step_multiply_adds": BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS},
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "wall_s": round(time.time() - started, 1),
    }
    picked = sum(r["weights"] <= BLOCK_LSTM_MAX_WEIGHTS and r["step_multiply_adds"] <= BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS
                 for r in rows)
    wrong = [r for r in rows if (r["train"]["block_lstm/separate"] < 1)
             != (r["weights"] <= BLOCK_LSTM_MAX_WEIGHTS and r["step_multiply_adds"] <= BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS)]
    print(f"\nbidirlib.fused's limits: at most {BLOCK_LSTM_MAX_WEIGHTS:,} weights and "
          f"{BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:,} multiply-adds a step; they pick BlockLSTM in {picked} of {len(rows)} cases")
    for r in wrong:
        print(f"  they disagree with this run's training step at batch {r['batch']}, units {r['units']}, "
              f"features {r['features']}: BlockLSTM/separate {r['train']['block_lstm/separate']:.2f}")
    print(f"{meta['wall_s']} s")
    bench.write_results(args.output, {"meta": meta, "rows": rows})


if __name__ == "__main__":
    main()
