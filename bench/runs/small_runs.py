#!/usr/bin/env python3
"""Small export runs per second (issue 16), against a running `taskwheel serve`.

Creates N export tasks (users, csv) of one chain, all due at the same whole second, waits, and
reports the time from that second to the moment every one is DONE (polled every 50 ms), as
runs per second. With --rss it also prints the RSS of the server's worker processes
(tw-worker/tw-spare children of --pid) after the batch.

  small_runs.py URL TOKEN CHAIN [--n 1000] [--lead 3] [--pid SERVER_PID] [--batches 1]
                [--sizes 100,9900]

Python 3, no packages. Never a pass/fail timing: a figure for bench/README.md.
"""
import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse


def conn_for(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def count(c, token, status):
    c.request("GET", "/tasks?status=%s&limit=1" % status, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    r.read()
    return int(r.getheader("X-Total-Count", "0"))


def children(pid):
    """(pid, comm, rss kB) of the server's worker processes."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if st.get("PPid", "").strip() != str(pid):
            continue
        name = st.get("Name", "").strip()
        if name in ("tw-worker", "tw-spare"):
            out.append((int(d), name, int(st.get("VmRSS", "0 kB").split()[0])))
    return out


def cpu_ms(pid):
    """user + system CPU of pid, ms."""
    with open("/proc/%d/stat" % pid) as f:
        f = f.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def batch(c, args, done_before):
    due = int(time.time()) + args.lead + args.n // 400  # room to create them all
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(due))
    body = {"chain": args.chain, "desc": "small run",
            "target": {"action": "export", "export_index": "users", "export_format": "csv"},
            "trigger": {"once": when}}
    hdr = {"Authorization": "Bearer " + args.token, "Content-Type": "application/json"}
    for _ in range(args.n):
        c.request("POST", "/tasks", body=json.dumps(body), headers=hdr)
        r = c.getresponse()
        r.read()
        if r.status != 201:
            sys.exit("POST /tasks: %d" % r.status)
    if time.time() >= due:
        sys.exit("creating the tasks took past their due time: raise --lead")
    while time.time() < due:
        time.sleep(0.005)
    cpu0 = cpu_ms(args.pid) if args.pid else 0
    kids0 = sum(cpu_ms(k[0]) for k in children(args.pid)) if args.pid else 0
    # Polled every 50 ms: each count is a query over every task, which costs the server too.
    while count(c, args.token, "DONE") < done_before + args.n:
        time.sleep(0.05)
    secs = time.time() - due
    if args.pid:
        batch.server_ms = cpu_ms(args.pid) - cpu0
        batch.workers_ms = sum(cpu_ms(k[0]) for k in children(args.pid)) - kids0
    if count(c, args.token, "ERROR") > 0:
        sys.exit("a run ended ERROR")
    return secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("chain", type=int)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--lead", type=int, default=3)
    ap.add_argument("--batches", type=int, default=1)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--sizes", default="", help="batch sizes, e.g. 100,900,9000 (overrides --n, --batches)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else [args.n] * args.batches
    c = conn_for(args.url)
    done = count(c, args.token, "DONE")
    total = 0
    for b, n in enumerate(sizes):
        args.n = n
        secs = batch(c, args, done)
        total += n
        done += args.n
        line = "batch %d: %d runs DONE %.2f s after their due second: %.0f runs/s (%d in all)" % (
            b + 1, args.n, secs, args.n / secs, total)
        if args.pid:
            kids = children(args.pid)
            line += "; server CPU %.2f ms/run, live workers' CPU %.2f ms/run" % (
                batch.server_ms / args.n, batch.workers_ms / args.n)
            line += "; worker RSS kB %s" % sorted(k[2] for k in kids)
        print(line, flush=True)


if __name__ == "__main__":
    main()
