"""k-NN over a training set larger than this machine's memory, on disk, with Dask.

Writes (once; ``--keep`` leaves it for the next run) a float64 ``.npy`` file of Gaussian rows
larger than RAM, then searches ``--queries`` rows for their ``k`` nearest on a LocalCluster of
1 and then 2 worker processes (Dask gives each one thread and one BLAS thread), with a
progress bar. Each chunk is read with ``pread`` and its pages dropped from the page cache
afterwards, so every run reads from disk and a worker holds one chunk at a time.

Reported: rows searched per second; the in-memory single-process path (``fastvr.kneighbors``
on numpy, both cores) on a slice that fits, and the ratio; peak resident memory per worker;
the scaling from one worker to two; and a check that the answers on that slice are equal.

    python benchmarks/dask_beyond_memory.py                 # 26 GiB, as in docs/guide/dask.md
    python benchmarks/dask_beyond_memory.py --gib 1 --slice-gib 0.25   # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import fastvr


def write_rows(path: Path, n: int, d: int, chunk_rows: int) -> None:
    """A ``.npy`` file of ``n`` Gaussian float64 rows, written chunk by chunk."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    fd = os.open(path, os.O_RDONLY)
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        out[start:stop] = np.random.default_rng(start).standard_normal((stop - start, d))
        out.flush()
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # written: out of the cache
        print(f"\rwriting {path}: {stop / n:6.1%}", end="", flush=True)
    os.close(fd)
    del out
    print()


def read_rows(path: str, offset: int, start: int, stop: int, d: int) -> np.ndarray:
    """Rows ``start:stop`` of the file, read from disk (their pages dropped afterwards)."""
    nbytes = (stop - start) * d * 8
    where = offset + start * d * 8
    fd = os.open(path, os.O_RDONLY)
    try:
        buffer = bytearray(nbytes)
        view, done = memoryview(buffer), 0
        while done < nbytes:
            done += os.preadv(fd, [view[done:]], where + done)
        os.posix_fadvise(fd, where, nbytes, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return np.frombuffer(buffer, dtype=np.float64).reshape(stop - start, d)


def on_disk(path: Path, chunk_rows: int, rows: int | None = None):
    """The file's first ``rows`` rows as a Dask array, one ``read_rows`` task per chunk."""
    import dask
    import dask.array as da

    header = np.load(path, mmap_mode="r")  # reads the header only
    (n, d), offset = header.shape, header.offset
    del header
    n = n if rows is None else rows
    parts = [
        da.from_delayed(
            dask.delayed(read_rows)(str(path), offset, a, min(a + chunk_rows, n), d),
            (min(a + chunk_rows, n) - a, d),
            dtype=np.float64,
        )
        for a in range(0, n, chunk_rows)
    ]
    return da.concatenate(parts)


def start_sampling(dask_worker) -> float:
    """In a worker: sample its resident memory every 20 ms; the RSS now (MiB)."""
    import threading

    import psutil

    process, stop = psutil.Process(), threading.Event()
    sampler = dask_worker.fastvr_sampler = {"peak": process.memory_info().rss, "stop": stop}

    def sample() -> None:
        while not stop.wait(0.02):
            sampler["peak"] = max(sampler["peak"], process.memory_info().rss)

    threading.Thread(target=sample, daemon=True).start()
    return process.memory_info().rss / 2**20


def stop_sampling(dask_worker) -> float:
    """In a worker: stop sampling; the peak resident memory seen (MiB)."""
    dask_worker.fastvr_sampler["stop"].set()
    return dask_worker.fastvr_sampler["peak"] / 2**20


def run_cluster(workers: int, Y, Q: np.ndarray, k: int, memory_limit: str):
    """The search on a fresh LocalCluster: seconds, answers, and per worker the resident
    memory before the search and its peak during it (MiB)."""
    import dask.array as da
    from distributed import Client, LocalCluster, progress

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(lambda: fastvr.kneighbors(Q, Q, k=k))  # compile the kernels first
        lazy = fastvr.kneighbors(da.from_array(Q, chunks=Q.shape), Y, k=k)
        before = client.run(start_sampling)
        start = time.perf_counter()
        futures = client.compute(list(lazy))
        progress(futures)
        dist, idx = client.gather(futures)
        seconds = time.perf_counter() - start
        peaks = client.run(stop_sampling)
    print()
    memory = [(before[w], peaks[w]) for w in sorted(before)]
    return seconds, (dist, idx), memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/work/fastvr-bench-data", type=Path)
    parser.add_argument("--gib", type=float, default=26.0, help="training set size on disk")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--chunk-mib", type=int, default=256)
    parser.add_argument("--slice-gib", type=float, default=2.0, help="the in-memory slice")
    parser.add_argument("--memory-limit", default="4GiB", help="per worker")
    parser.add_argument("--keep", action="store_true", help="keep the file for the next run")
    args = parser.parse_args()

    d = args.dim
    n = int(args.gib * 2**30) // (8 * d)
    chunk_rows = args.chunk_mib * 2**20 // (8 * d)
    path = args.dir / f"rows-{n}x{d}.npy"
    args.dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        write_rows(path, n, d, chunk_rows)
    Q = np.random.default_rng(12345).standard_normal((args.queries, d))
    total_gib = n * d * 8 / 2**30
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"numpy {np.__version__}, fastvr {fastvr.__version__}"
    )
    print(
        f"training set: {n:,} x {d} float64 = {total_gib:.1f} GiB on disk, "
        f"chunks of {chunk_rows:,} rows ({args.chunk_mib} MiB); {args.queries} queries, "
        f"k = {args.k}"
    )

    # The in-memory single-process path on a slice that fits, and the same slice from disk.
    rows = (int(args.slice_gib * 2**30) // (8 * d)) // chunk_rows * chunk_rows or chunk_rows
    Y_slice = on_disk(path, chunk_rows, rows).compute(scheduler="synchronous")
    fastvr.kneighbors(Q, Y_slice[:chunk_rows], k=args.k)  # compile the kernels first
    times = []
    for _ in range(3):
        start = time.perf_counter()
        want = fastvr.kneighbors(Q, Y_slice, k=args.k)
        times.append(time.perf_counter() - start)
    in_memory = min(times)
    del Y_slice
    print(
        f"in memory, one process (best of 3): {rows:,} rows in {in_memory:.2f} s = "
        f"{rows / in_memory:,.0f} rows/s"
    )
    _, got, _ = run_cluster(2, on_disk(path, chunk_rows, rows), Q, args.k, args.memory_limit)
    same = all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    print(f"the slice through Dask from disk equals one process: {same}")

    results = {}
    for workers in (1, 2):
        seconds, _, memory = run_cluster(
            workers, on_disk(path, chunk_rows), Q, args.k, args.memory_limit
        )
        results[workers] = seconds
        print(
            f"{workers} worker(s): {n:,} rows in {seconds:.1f} s = {n / seconds:,.0f} rows/s "
            f"({total_gib / seconds:.2f} GiB/s); "
            f"vs in memory {n / seconds / (rows / in_memory):.2f}x; "
            "resident memory per worker, before -> peak: "
            + ", ".join(f"{a:,.0f} -> {b:,.0f} MiB" for a, b in memory)
        )
    print(f"scaling from one worker to two: {results[1] / results[2]:.2f}x")
    if not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
