"""The ``sedscape`` command: a thin layer over the library; each verb lives in its own module.

Each module in :data:`VERBS` defines ``register(subparsers)`` that adds its sub-command and sets
``func`` (taking the parsed ``argparse.Namespace`` and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from core.cli._tensorflow import quiet_tensorflow_logs
from core.errors import SedscapeError

VERBS = (
    "mock", "ingest", "train", "score", "impute", "classify", "report", "fetch", "crossmatch", "prepare",
    "labels", "export", "samp", "stellar_model",
)

log = logging.getLogger("sedscape")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sedscape",
        description="Latent spaces and anomalies of multi-band stellar photometry (LSTM autoencoders).",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    for verb in VERBS:
        try:
            module = importlib.import_module(f"core.cli.{verb}")
        except ModuleNotFoundError as exc:
            if exc.name != f"core.cli.{verb}":
                raise
            continue
        module.register(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a record is emitted, not as it was when configured
    (tests and notebooks replace it; a handler holding a closed stream would fail on every record)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[_StderrHandler()], force=True
    )
    if verbose < 2:
        for noisy in ("tensorflow", "absl", "h5py", "urllib3", "matplotlib", "numba"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def enable_xla_cache() -> None:
    """Let TensorFlow keep compiled XLA programs on disk, so a new ``sedscape`` process reuses them.

    Compiling the training and scoring programs takes seconds (tens under load) in every process;
    with the cache a second ``sedscape train`` or ``score`` on data of the same shapes loads them.
    Must run before TensorFlow starts; an explicit cache directory in ``TF_XLA_FLAGS`` wins.
    """
    from core.paths import xla_cache_dir

    directory = xla_cache_dir()
    flags = os.environ.get("TF_XLA_FLAGS", "")
    # Only a process whose TensorFlow has not started yet (the console script, not a test or notebook).
    if directory is None or "tf_xla_persistent_cache_directory" in flags or "tensorflow" in sys.modules:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only home: run without the cache
        log.debug("no XLA cache (%s)", exc)
        return
    os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={directory}".strip()


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that partial outputs are removed as on Ctrl-C."""


def _raise_terminated(signum, frame) -> None:  # noqa: ARG001 (signal handler signature)
    raise Terminated


def _install_sigterm():
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (e.g. main() called from a worker): leave signals alone
        return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    configure_logging(args.verbose, args.quiet)
    if not args.verbose:
        # Before TensorFlow is first imported: its C++ start-up chatter is noise to a CLI user.
        quiet_tensorflow_logs()
    enable_xla_cache()
    previous = _install_sigterm()
    try:
        return int(args.func(args) or 0)
    except SedscapeError as exc:
        print(f"sedscape {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the environment refused (permissions, disk full, a path vanished)
        log.debug("%s", exc, exc_info=True)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"sedscape {args.verb}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sedscape {args.verb}: interrupted; partial outputs removed", file=sys.stderr)
        return 130
    except Terminated:
        print(f"sedscape {args.verb}: terminated; partial outputs removed", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
