#!/usr/bin/env python3
"""Splits a `perf script` dump of the EventBus server into where the CPU went, per operation.

Each sample is charged to one bucket: kernel samples to the system call (or interrupt) that entered the kernel,
user samples to the library or .NET assembly of the leaf frame. Usage:
    perf script -i perf.data | breakdown.py --ops N [--label NAME]
"""
import argparse
import collections
import re
import sys

SYSCALLS = [
    ("__send", "kernel: TCP send (loopback, incl. waking the reader)"),
    ("sendto", "kernel: TCP send (loopback, incl. waking the reader)"),
    ("__libc_recv", "kernel: TCP recv"),
    ("recvfrom", "kernel: TCP recv"),
    ("__sched_yield", "kernel: sched_yield (thread-pool spin)"),
    ("epoll_wait", "kernel: epoll_wait (socket engine)"),
    ("pwrite", "kernel: pwrite (SQLite WAL)"),
    ("pread", "kernel: pread (SQLite)"),
    ("fcntl", "kernel: fcntl (SQLite file locks)"),
    ("fsync", "kernel: fsync (SQLite checkpoint)"),
    ("fdatasync", "kernel: fsync (SQLite checkpoint)"),
    ("futex", "kernel: futex (thread sleep/wake)"),
    ("__GI___futex", "kernel: futex (thread sleep/wake)"),
    ("madvise", "kernel: memory (GC)"),
    ("mmap", "kernel: memory (GC)"),
    ("munmap", "kernel: memory (GC)"),
    ("mprotect", "kernel: memory (GC)"),
]

ASSEMBLY = re.compile(r"\[([A-Za-z0-9_.]+)\] ")


def classify(frames):
    """frames: list of (symbol, dso), leaf first."""
    leaf_sym, leaf_dso = frames[0]
    if "kernel" in leaf_dso:
        for sym, dso in frames:
            if "kernel" in dso:
                continue
            for needle, bucket in SYSCALLS:
                if needle in sym:
                    return bucket
            return "kernel: other syscall/interrupt"
        return "kernel: interrupt/other thread"
    if "libe_sqlite3" in leaf_dso:
        return "SQLite engine (libe_sqlite3)"
    if "libcoreclr" in leaf_dso:
        return "runtime (libcoreclr: GC, type checks, thread pool)"
    if "libclrjit" in leaf_dso:
        return "JIT compiler"
    if "libc.so" in leaf_dso or "ld-linux" in leaf_dso:
        return "libc"
    m = ASSEMBLY.search(leaf_sym)
    if m:
        name = m.group(1)
        if name.startswith("Microsoft.AspNetCore") or name.startswith("System.IO.Pipelines") or name == "System.Net.Sockets":
            return "managed: Kestrel/ASP.NET Core/sockets"
        if name.startswith("ModelContextProtocol"):
            return "managed: MCP SDK"
        if name.startswith("System.Text.Json"):
            return "managed: System.Text.Json"
        if name.startswith("Microsoft.Data.Sqlite") or name.startswith("SQLitePCL") or name == "Dapper":
            return "managed: Microsoft.Data.Sqlite/Dapper"
        if name.startswith("EventBus"):
            return "managed: EventBus code"
        if name in ("System.Private.CoreLib", "System.Threading.Channels", "System.Collections", "System.Linq",
                    "System.Runtime", "System.Collections.Concurrent"):
            return "managed: BCL (async, collections, strings)"
        return "managed: other (" + name + ")"
    return "other (" + leaf_dso.split("/")[-1] + ")"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=float, required=True, help="operations completed while perf recorded")
    parser.add_argument("--hz", type=float, default=1999, help="perf sampling frequency")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    buckets = collections.Counter()
    total = 0
    frames = []
    header = None

    def flush():
        nonlocal total
        if header is not None and frames:
            buckets[classify(frames)] += 1
            total += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            frames, header = [], None
            continue
        if not line.startswith((" ", "\t")):
            header = line
            continue
        parts = line.strip().split(" ", 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        dso = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else ""
        sym = rest[:rest.rfind("(")].strip() if rest.endswith(")") else rest
        frames.append((sym, dso))
    flush()

    us_per_sample = 1e6 / args.hz
    print(f"{args.label}: {total} samples, {args.ops:.0f} ops -> {total * us_per_sample / args.ops:.1f} us of CPU per op")
    for bucket, count in buckets.most_common():
        print(f"  {count * us_per_sample / args.ops:7.1f} us/op  {100.0 * count / total:5.1f} %  {bucket}")


if __name__ == "__main__":
    main()
