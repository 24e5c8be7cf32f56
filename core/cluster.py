"""Dask clusters for partitioned work: a LocalCluster sized to this machine, or an existing scheduler.

The same code runs on a laptop, a workstation or a Kubernetes/HPC cluster (docs/dask-clusters.md):
only the scheduler address changes. Workers run one thread each by default, so TensorFlow and numpy
do not oversubscribe the cores (``TF_NUM_INTRAOP_THREADS`` and the BLAS thread counts follow).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger(__name__)

MEMORY_FRACTION = 0.75  # of the machine's RAM shared by the local workers


def machine_memory_bytes() -> int:
    """Physical memory of this machine (cgroup limit when tighter)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(f).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total)


@dataclass(frozen=True)
class ClusterConfig:
    """How to get workers: ``scheduler`` (an address) or a local cluster of ``n_workers`` processes.

    ``n_workers=None`` means one per CPU core; ``memory_per_worker`` (bytes) defaults to
    :data:`MEMORY_FRACTION` of the machine's memory split evenly; ``processes=False`` runs the
    workers as threads of this process (quick to start; for tests and small catalogs).
    """

    scheduler: str | None = None
    n_workers: int | None = None
    threads_per_worker: int = 1
    memory_per_worker: int | None = None
    processes: bool = True

    def __post_init__(self) -> None:
        if self.n_workers is not None and self.n_workers < 1:
            raise ConfigError(f"n_workers must be >= 1, got {self.n_workers}")
        if self.threads_per_worker < 1:
            raise ConfigError(f"threads_per_worker must be >= 1, got {self.threads_per_worker}")
        if self.memory_per_worker is not None and self.memory_per_worker < 256 * 2**20:
            raise ConfigError(f"memory_per_worker must be at least 256 MiB, got {self.memory_per_worker} bytes")

    def resolved_workers(self) -> int:
        return self.n_workers or max(1, os.cpu_count() or 1)

    def resolved_memory(self) -> int:
        return self.memory_per_worker or int(machine_memory_bytes() * MEMORY_FRACTION / self.resolved_workers())


@contextmanager
def dask_client(config: ClusterConfig | None = None) -> Iterator:
    """A ``distributed.Client`` for the duration of the block (the local cluster is closed after)."""
    import dask
    from distributed import Client, LocalCluster

    config = config or ClusterConfig()
    if config.scheduler:
        try:
            client = Client(config.scheduler, timeout="30s")
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {config.scheduler} ({exc})") from exc
        log.info("connected to %s (%d workers)", config.scheduler, len(client.scheduler_info()["workers"]))
        try:
            yield client
        finally:
            client.close()
        return
    threads = str(config.threads_per_worker)
    environ = {
        "MALLOC_TRIM_THRESHOLD_": "65536",  # distributed's default, kept
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(
            n_workers=config.resolved_workers(),
            threads_per_worker=config.threads_per_worker,
            processes=config.processes,
            memory_limit=config.resolved_memory(),
            dashboard_address=None,
            silence_logs=logging.WARNING,
        )
    client = Client(cluster)
    log.info(
        "local Dask cluster: %d workers x %d threads, %.1f GB each",
        config.resolved_workers(),
        config.threads_per_worker,
        config.resolved_memory() / 1e9,
    )
    try:
        yield client
    finally:
        client.close()
        cluster.close()
