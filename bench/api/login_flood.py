#!/usr/bin/env python3
"""/healthz latency while 32 connections flood POST /auth/login with random user names.

Usage: bench/api/login_flood.py PORT [--seconds S] [--conns N] [--addresses A]

Each flooding connection is a keep-alive HTTP/1.1 client sending logins with a fresh random
name and password; with --addresses A the connections spread over source addresses
127.0.0.2 .. 127.0.0.(A+1), so the per-address throttle lets A times more hashes through
(the worst case for the hashing threads). Meanwhile one client GETs /healthz every 10 ms on
its own connection and records each round trip. Prints p50/p99/max of those and the login
status counts. Not a test: run it by hand against a Release build (bench/README.md).
"""
import argparse
import http.client
import multiprocessing
import random
import socket
import string
import threading
import time


def flood(port, src, stop, counts, lock):
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                           source_address=(src, 0))
            while not stop.is_set():
                name = "".join(random.choices(string.ascii_lowercase, k=12))
                body = '{"username": "%s", "password": "x%s"}' % (name, name)
                c.request("POST", "/auth/login", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                with lock:
                    counts[r.status] = counts.get(r.status, 0) + 1
        except (OSError, http.client.HTTPException):
            time.sleep(0.01)


def flood_process(port, conns, addresses, seconds, q):
    """The flooding connections, in a process of their own: the probe below must not wait
    for a Python lock held by 32 busy threads, or it measures the client, not the server."""
    stop = threading.Event()
    counts, lock = {}, threading.Lock()
    threads = [threading.Thread(target=flood, daemon=True,
                                args=(port, "127.0.0.%d" % (2 + i % addresses), stop,
                                      counts, lock))
               for i in range(conns)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    with lock:
        q.put(dict(counts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--addresses", type=int, default=1)
    a = ap.parse_args()
    q = multiprocessing.Queue()
    fp = multiprocessing.Process(target=flood_process,
                                 args=(a.port, a.conns, a.addresses, a.seconds + 1, q))
    fp.start()
    time.sleep(1)                      # let the flood get going
    lat = []
    h = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        h.request("GET", "/healthz")
        h.getresponse().read()
        lat.append((time.monotonic() - t0) * 1000)
        time.sleep(0.01)
    counts = q.get()
    fp.join()
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("healthz: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms" % (len(lat), p(0.5), p(0.99),
                                                                 lat[-1]))
    print("logins:", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
