#!/usr/bin/env python3
"""CPU and log volume of a server flooded with idle connections at its open-file limit.

Usage: bench/api/idle_flood.py PID PORT LOGFILE [--conns N] [--seconds S]

Opens N connections (non-blocking connects; they never send a byte) to PORT and, from the
first connect until S seconds after the last, samples the server's CPU time from /proc/PID/stat and the size of LOGFILE (its
stderr). Lower the server's limit first to reach it, e.g. `prlimit --pid PID --nofile=4096`.
Prints CPU % of one core, log bytes and lines written during the window. The client needs
an open-file limit above N (ulimit -n).
"""
import argparse
import errno
import os
import socket
import time


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("port", type=int)
    ap.add_argument("logfile")
    ap.add_argument("--conns", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=15)
    a = ap.parse_args()
    socks = []
    # Measured from the first connect: the accept storm is part of what is measured.
    c0, l0 = cpu_s(a.pid), os.path.getsize(a.logfile)
    with open(a.logfile, "rb") as f:
        n0 = f.read().count(b"\n")
    t0 = time.monotonic()
    for _ in range(a.conns):
        s = socket.socket()
        s.setblocking(False)
        e = s.connect_ex(("127.0.0.1", a.port))
        if e not in (0, errno.EINPROGRESS):
            s.close()
            break
        socks.append(s)
    t_conn = time.monotonic() - t0
    time.sleep(a.seconds)
    dt = time.monotonic() - t0
    c1, l1 = cpu_s(a.pid), os.path.getsize(a.logfile)
    with open(a.logfile, "rb") as f:
        n1 = f.read().count(b"\n")
    print("connect loop: %.1f s" % t_conn)
    print("connections opened: %d" % len(socks))
    print("server CPU: %.1f %% of a core over %.1f s" % (100 * (c1 - c0) / dt, dt))
    print("log: %d bytes, %d lines in %.1f s (%.2f lines/s)" % (l1 - l0, n1 - n0, dt,
                                                              (n1 - n0) / dt))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
