"""Two worker processes train one small bidirlib model together on loopback, as on a cluster.

Usage (the launcher; it starts every process itself and checks what they return):

    python scripts/multi_worker.py --engine tf          # tf.distribute.MultiWorkerMirroredStrategy, TF_CONFIG
    python scripts/multi_worker.py --engine jax         # keras.distribution.initialize + DataParallel on JAX
    python scripts/multi_worker.py --engine tf --fault  # kill a worker mid-training, then BackupAndRestore

Each engine joins two processes on 127.0.0.1 (free ports picked at start) into one data-parallel job: the global
batch of 16 is split in two halves, one per worker, and the gradients are summed across the workers every step.
The launcher also trains the same model on the same data in one process, and asserts that both workers end with
the weights of that single run (atol 1e-5).

`--fault`: worker 1 kills itself (SIGKILL, no clean-up) at the second batch of the second epoch. The launcher
asserts that worker 0 then stops by itself, with an error, within a bounded time (no hang), and prints that
error; then it starts both workers again on the same `keras.callbacks.BackupAndRestore` directories: they resume
at the epoch that was cut, and end with the weights of an uninterrupted run.

Every process is bounded: each worker has a watchdog that ends it after `--worker-timeout` seconds whatever it
is doing, the launcher kills whatever is left after that, and a worker whose peer has died ends with an error.
Prints one JSON summary as its last line.
"""

import argparse
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# The job is chapter 15's: the same data, model and batches as its one-process runs (bidirbook imports no Keras
# at import time, so each process still picks its backend before Keras is imported).
from bidirbook.scaling import EPOCHS, GLOBAL_BATCH, make_data, make_model

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: Worker 1 kills itself here in the fault run: (epoch, batch), both counted from 0.
DIE_AT = (1, 1)
ENGINE_BACKEND = {"tf": "tensorflow", "jax": "jax"}


# ----------------------------------------------------------------------------------------------- the job itself


def make_dataset(x, y):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH, drop_remainder=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return dataset.with_options(options)


class EpochLog:
    """A Keras callback (built lazily, Keras is imported late) that records the epochs run, and can kill."""

    @staticmethod
    def make(record, die_at=None):
        import keras

        class _Log(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch
                record.append(epoch)

            def on_train_batch_begin(self, batch, logs=None):
                if die_at is not None and (self.epoch, batch) == tuple(die_at):
                    print(f"worker: killing myself at epoch {self.epoch}, batch {batch}", flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)

        return _Log()

    @staticmethod
    def jax_sync():
        """JAX runs ahead of Python: without this, BackupAndRestore's save at an epoch's end waits on a step still
        in flight, and a peer dying then leaves a truncated backup (seen: a 96-byte `latest.weights.h5`). Finish
        every step, and meet every worker, before the save starts; a dead peer is then an error here, before the
        backup file is opened."""
        import jax
        import keras
        from jax.experimental import multihost_utils

        class _Sync(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                jax.block_until_ready([v.value for v in self.model.variables])
                jax.block_until_ready([v.value for v in self.model.optimizer.variables])
                multihost_utils.sync_global_devices(f"end of epoch {epoch}")

        return _Sync()


def train(model, dataset, backup_dir=None, die_at=None):
    import keras

    keras.config.disable_traceback_filtering()
    epochs_run = []
    callbacks = [EpochLog.make(epochs_run, die_at)]
    if backup_dir:
        if keras.backend.backend() == "jax":
            callbacks.append(EpochLog.jax_sync())
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir))
    history = model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=callbacks, shuffle=False)
    return epochs_run, [float(v) for v in history.history["loss"]]


def save_result(path, model, epochs_run, losses):
    import numpy as np

    weights = {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    np.savez(path, **weights)
    pathlib.Path(str(path) + ".json").write_text(json.dumps({"epochs_run": epochs_run, "losses": losses}))


def run_single(args):
    """The reference: the same model and data, one process, one device."""
    x, y = make_data()
    model = make_model()
    epochs_run, losses = train(model, make_dataset(x, y), backup_dir=args.backup_dir)
    save_result(args.out, model, epochs_run, losses)


def patch_keras_multi_worker_metrics():
    """Work around Keras 3.15: under MultiWorkerMirroredStrategy, `fit` averages each step's (scalar) metrics
    across workers with `strategy.reduce("MEAN", v, axis=0)`, which fails ("Invalid reduction dimension 0 for
    input with 0 dimensions"). Average scalars with `axis=None` instead; everything else as Keras does."""
    from keras.src.backend.tensorflow import trainer as tf_trainer

    keras_reduce = tf_trainer.reduce_per_replica
    if getattr(keras_reduce, "patched_for_multi_worker", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            import keras

            def mean(v):
                axis = None if len(v.shape) == 0 else 0
                return strategy.reduce("MEAN", v, axis=axis)

            return keras.tree.map_structure(mean, values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.patched_for_multi_worker = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def run_tf_worker(args):
    import tensorflow as tf

    patch_keras_multi_worker_metrics()

    # TF_CONFIG is set by the launcher; CommunicationOptions bounds each collective, so a dead peer is an error.
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=args.collective_timeout)
    )
    x, y = make_data()
    with strategy.scope():
        model = make_model()
        # Keras 3.15's TensorFlow trainer builds the model at the start of `fit` from the first batch, which it
        # first averages with `strategy.reduce`; under MultiWorkerMirroredStrategy that reduce fails eagerly
        # ("Attempt to convert a value (PerReplica...)"). Build from a plain batch here, and skip that step.
        model._symbolic_build(data_batch=(x[:GLOBAL_BATCH], y[:GLOBAL_BATCH]))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    epochs_run, losses = train(model, make_dataset(x, y), args.backup_dir, args.die_at)
    save_result(args.out, model, epochs_run, losses)


def run_jax_worker(args):
    import keras

    keras.distribution.initialize(
        job_addresses=f"127.0.0.1:{args.port}", num_processes=2, process_id=args.index
    )
    import jax

    assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    x, y = make_data()
    model = make_model()
    epochs_run, losses = train(model, make_dataset(x, y), args.backup_dir, args.die_at)
    save_result(args.out, model, epochs_run, losses)


def summarize(error):
    """The lines of an error that say what happened (TensorFlow's start with a graph trace)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    telling = [line for line in lines if any(word in line.lower() for word in
                                             ("aborted", "unhealthy", "heartbeat", "connection", "peer", "closed",
                                              "deadline", "timed out", "unavailable", "gloo", "crashed"))]
    return " / ".join((telling or lines or [""])[:2])[:400]


def worker_main(args):
    """One process of the job. Ends itself: on success, on an error, or when the watchdog fires."""

    def watchdog():
        print(f"worker {args.index}: WATCHDOG after {args.worker_timeout} s, ending", flush=True)
        os._exit(3)

    timer = threading.Timer(args.worker_timeout, watchdog)
    timer.daemon = True
    timer.start()
    try:
        if args.role == "single":
            run_single(args)
        elif args.engine == "tf":
            run_tf_worker(args)
        else:
            run_jax_worker(args)
    except BaseException as error:  # report and end now: a clean shutdown would wait for the dead peer
        traceback.print_exc()
        print(f"worker {args.index}: ERROR {type(error).__name__}: {summarize(error)}", flush=True)
        sys.stdout.flush()
        os._exit(2)
    print(f"worker {args.index}: DONE", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter shutdown: both workers have written their results, and a distributed runtime's exit
    # barrier would wait for a peer that may already be gone.
    os._exit(0)


# ------------------------------------------------------------------------------------------------- the launcher


def free_ports(count):
    sockets = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def environment(engine, extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "XLA_FLAGS")}
    env.update(KERAS_BACKEND=ENGINE_BACKEND[engine], TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
               OMP_NUM_THREADS="1", TF_NUM_INTEROP_THREADS="1", TF_NUM_INTRAOP_THREADS="1")
    env.update(extra or {})
    return env


def start(args, role, out, index=0, port=None, backup_dir=None, die_at=None, env_extra=None):
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--engine", args.engine, "--role", role,
               "--index", str(index), "--out", str(out), "--worker-timeout", str(args.worker_timeout),
               "--collective-timeout", str(args.collective_timeout)]
    if port is not None:
        command += ["--port", str(port)]
    if backup_dir:
        command += ["--backup-dir", str(backup_dir)]
    if die_at:
        command += ["--die-at", *map(str, die_at)]
    log = open(str(out) + ".log", "w")
    process = subprocess.Popen(command, env=environment(args.engine, env_extra), stdout=log,
                               stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    process.log_path = str(out) + ".log"
    return process


def start_workers(args, workdir, tag, backup=False, die_at=None):
    """Two processes of one job, on 127.0.0.1 free ports."""
    ports = free_ports(2)
    processes = []
    for index in range(2):
        extra = {}
        if args.engine == "tf":
            extra["TF_CONFIG"] = json.dumps({
                "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "task": {"type": "worker", "index": index},
            })
        backup_dir = workdir / f"backup_{index}" if backup else None  # one each: workers share no files
        processes.append(start(args, "worker", workdir / f"{tag}_{index}.npz", index=index, port=ports[0],
                               backup_dir=backup_dir, die_at=die_at if index == 1 else None, env_extra=extra))
    return processes


def wait_all(processes, limit):
    """Wait for every process, at most `limit` seconds in all; kill what is left. Returns exit codes, times."""
    began = time.monotonic()
    codes, ended = [None] * len(processes), [None] * len(processes)
    while time.monotonic() - began < limit and None in codes:
        for i, p in enumerate(processes):
            if codes[i] is None and p.poll() is not None:
                codes[i], ended[i] = p.returncode, time.monotonic() - began
        time.sleep(0.1)
    for i, p in enumerate(processes):
        if codes[i] is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            codes[i] = "killed by the launcher"
    return codes, ended


def tail(process, lines=12):
    text = pathlib.Path(process.log_path).read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def load(path):
    import numpy as np

    with np.load(path) as data:
        weights = [data[f"w{i}"] for i in range(len(data.files))]
    return weights, json.loads(pathlib.Path(str(path) + ".json").read_text())


def max_difference(a, b):
    import numpy as np

    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


def check(condition, message, processes=()):
    if not condition:
        logs = "\n".join(f"--- {p.log_path}\n{tail(p, 30)}" for p in processes)
        raise SystemExit(f"FAILED: {message}\n{logs}")


def launch(args):
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="multi_worker_"))
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    summary = {"engine": args.engine, "fault": args.fault}

    # The single-process reference runs beside the workers.
    single = start(args, "single", workdir / "single.npz")
    if not args.fault:
        workers = start_workers(args, workdir, "worker")
        codes, _ = wait_all(workers + [single], args.worker_timeout + 10)
        check(codes == [0, 0, 0], f"exit codes {codes}", workers + [single])
        reference, _ = load(workdir / "single.npz")
        results = [load(workdir / f"worker_{i}.npz") for i in range(2)]
        for i, (weights, info) in enumerate(results):
            summary[f"worker_{i}_vs_single"] = max_difference(weights, reference)
            summary[f"worker_{i}_losses"] = [round(v, 5) for v in info["losses"]]
            check(summary[f"worker_{i}_vs_single"] <= 1e-5, f"worker {i} differs from one process", workers)
        summary["single_losses"] = [round(v, 5) for v in load(workdir / "single.npz")[1]["losses"]]
        print(f"{args.engine}: both workers end with the single process's weights "
              f"(largest difference {max(summary['worker_0_vs_single'], summary['worker_1_vs_single']):.1e})")
    else:
        # 1. Worker 1 dies mid-training; worker 0 must stop by itself, with an error.
        workers = start_workers(args, workdir, "cut", backup=True, die_at=DIE_AT)
        codes, ended = wait_all(workers, args.worker_timeout + 10)
        check(codes[1] == -signal.SIGKILL, f"worker 1 should have been killed, exit codes {codes}", workers)
        check(isinstance(codes[0], int) and codes[0] != 0, f"worker 0 should end with an error: {codes}", workers)
        log0 = pathlib.Path(workers[0].log_path).read_text(errors="replace")
        error_lines = [line for line in log0.splitlines() if "ERROR" in line or "WATCHDOG" in line]
        summary["survivor_exit_code"] = codes[0]
        summary["survivor_seconds_after_peer_died"] = round(ended[0] - ended[1], 1)
        summary["survivor_error"] = error_lines[-1] if error_lines else tail(workers[0], 3)
        print(f"{args.engine}: worker 1 killed at epoch {DIE_AT[0]}, batch {DIE_AT[1]}; worker 0 stopped "
              f"{summary['survivor_seconds_after_peer_died']} s later with exit code {codes[0]}:")
        print("   ", summary["survivor_error"])
        # 2. Start both again on the same backup directories: they resume, and nothing is lost.
        workers = start_workers(args, workdir, "resumed", backup=True)
        codes, _ = wait_all(workers + [single], args.worker_timeout + 10)
        check(codes == [0, 0, 0], f"exit codes {codes}", workers + [single])
        reference, _ = load(workdir / "single.npz")
        for i in range(2):
            weights, info = load(workdir / f"resumed_{i}.npz")
            summary[f"resumed_{i}_epochs_run"] = info["epochs_run"]
            summary[f"resumed_{i}_vs_uninterrupted"] = max_difference(weights, reference)
            check(info["epochs_run"] == list(range(DIE_AT[0], EPOCHS)),
                  f"worker {i} should resume at epoch {DIE_AT[0]}: ran {info['epochs_run']}", workers)
            check(summary[f"resumed_{i}_vs_uninterrupted"] <= 1e-5, f"resumed worker {i} differs", workers)
        print(f"{args.engine}: restarted with BackupAndRestore, both workers ran epochs "
              f"{summary['resumed_0_epochs_run']} and end with the uninterrupted run's weights (largest difference "
              f"{max(summary['resumed_0_vs_uninterrupted'], summary['resumed_1_vs_uninterrupted']):.1e})")
    summary["seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(summary))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=sorted(ENGINE_BACKEND), default="tf")
    parser.add_argument("--fault", action="store_true", help="kill a worker mid-training, then resume")
    parser.add_argument("--workdir", help="where results and logs go (default: a new temporary folder)")
    parser.add_argument("--worker-timeout", type=float, default=120.0, help="every process ends by then")
    parser.add_argument("--collective-timeout", type=float, default=30.0, help="TensorFlow: per collective")
    # Used by the launcher to start its processes.
    parser.add_argument("--role", choices=["launcher", "worker", "single"], default="launcher",
                        help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--backup-dir", help=argparse.SUPPRESS)
    parser.add_argument("--die-at", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "launcher":
        launch(args)
    else:
        worker_main(args)


if __name__ == "__main__":
    main()
