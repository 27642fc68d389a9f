#!/usr/bin/env python3
"""Several nodes on one PostgreSQL (issue 14): small export runs per second with 1, 2 and 3
nodes, where the CPU goes (each node with its workers, and PostgreSQL), PostgreSQL's commit
latency, and the rescue time after kill -9 of the running node.

  bench/cluster/run.py [--build build] [--n 1000] [--rounds 2] [--nodes 1,2,3] [--rescues 20]

A throwaway PostgreSQL 15 cluster is started under WORK (default /tmp/tw-bench-cluster; run as
`nobody` when we are root) and stopped at the end. Each round uses a new database; its nodes
share one server key. The N tiny tasks (index users, csv, the node's demo SQLite source) are
created through node 1 before the other nodes start, so every node arms every task and the
claims really compete (as they do once LISTEN/NOTIFY spreads changes). Rounds of 1, 2 and 3
nodes alternate, so the ratios are measured side by side. CPU is utime+stime from /proc of each
node and all its descendants (workers, spares, spawner) and of the postmaster and its backends,
taken when the tasks fall due and when the last one is DONE.

Rescue: 2 nodes (lease 4, heartbeat 1) with the tests' testrun plugin (chain 9121: a 10 s run);
each time, the node running the task (tasks.run_node) is killed with SIGKILL 1 s into the run, and the time until
the other node has logged "interrupted: lease of node ... expired" is measured (polled every
50 ms); the killed node is started again for the next kill.

Python 3, no packages. Figures for bench/README.md, never a pass/fail timing.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

PGBIN = "/usr/lib/postgresql/15/bin"
TCK = os.sysconf("SC_CLK_TCK")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Pg:
    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.as_ = []
        if os.getuid() == 0:
            shutil.chown(self.dir, "nobody")
            os.chmod(work, 0o755)
            self.as_ = ["runuser", "-u", "nobody", "--"]
        sh(self.as_ + [PGBIN + "/initdb", "-D", self.dir + "/data", "-U", "tw", "--auth", "trust",
                       "-E", "UTF8", "--locale", "C.UTF-8"], stdout=subprocess.DEVNULL)
        sh(self.as_ + [PGBIN + "/pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w",
                       "-o", "-k %s -c listen_addresses='' -c max_connections=50" % self.dir,
                       "start"], stdout=subprocess.DEVNULL)

    def dsn(self, db):
        return "host=%s user=tw dbname=%s" % (self.dir, db)

    def psql(self, sql, db="postgres"):
        return subprocess.run(["psql", "-X", "-q", "-At", self.dsn(db), "-c", sql], check=True,
                              capture_output=True, text=True).stdout

    def postmaster(self):
        with open(self.dir + "/data/postmaster.pid") as f:
            return int(f.readline())

    def stop(self):
        subprocess.run(self.as_ + [PGBIN + "/pg_ctl", "-D", self.dir + "/data", "-m", "fast",
                                   "-w", "stop"], stdout=subprocess.DEVNULL)


def proc_tree():
    """pid -> (ppid, utime+stime ticks, comm) of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s.rsplit(")", 1)[1].split()
        out[int(d)] = (int(f[1]), int(f[11]) + int(f[12]), comm)
    return out


def tree_cpu_ms(tree, root):
    """CPU of root and all its descendants now alive, ms."""
    kids = {}
    for pid, (ppid, _, _) in tree.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        if p in tree:
            total += tree[p][1]
        todo.extend(kids.get(p, []))
    return total * 1000 // TCK


class Node:
    def __init__(self, work, build, plugins, i, dsn, extra=""):
        self.dir = os.path.join(work, "node%d" % i)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.config = os.path.join(self.dir, "config.yaml")
        self.build = build
        self.name = "node-%d" % i
        with open(self.config, "w") as f:
            f.write('listen: "127.0.0.1:0"\ndata_dir: "%s/var"\nplugins_dir: "%s"\n'
                    'lua_dir: "%s/lua"\nlog: { level: warn }\n'
                    'store: { driver: postgresql, dsn: "%s" }\n'
                    'auth: { key_file: "%s/server.key" }\n'
                    'cluster: { node_id: "%s", heartbeat: 1, lease: 4 }\n'
                    'source: { path: "%s/retail.db" }\n%s'
                    % (self.dir, plugins, ROOT, dsn, work, self.name, work, extra))
        self.proc = None
        if not os.path.exists(os.path.join(work, "retail.db")):  # one small source for all
            sh([build + "/engine/taskwheel", "seed", "-c", self.config, "--rows", "10",
                "--chains", "1"], stdout=subprocess.DEVNULL)
        self.start()

    def start(self):
        ready = os.path.join(self.dir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen([self.build + "/engine/taskwheel", "serve", "-c", self.config,
                                      "--ready-file", ready], stdout=self.log, stderr=self.log)
        for _ in range(1500):
            if os.path.exists(ready) and open(ready).read().strip():
                self.port = int(open(ready).read().split()[0])
                return
            if self.proc.poll() is not None:
                sys.exit("node %s exited at start: see %s/serve.log" % (self.name, self.dir))
            time.sleep(0.02)
        sys.exit("node %s did not become ready" % self.name)

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait()
        self.proc = None

    def token(self, chains):
        args = [self.build + "/engine/taskwheel", "token", "create", "--level", "write"]
        for c in chains:
            args += ["--chain", str(c)]
        out = subprocess.run(args + ["-c", self.config], check=True, capture_output=True,
                             text=True).stdout
        return out.splitlines()[0].strip()

    def metric(self, name):
        c = self.conn()
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        for line in body.splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
        return -1


def count(c, token, status):
    c.request("GET", "/tasks?status=%s&limit=1" % status, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    r.read()
    return int(r.getheader("X-Total-Count", "0"))


def create(c, token, chain, due, index="users"):
    body = {"chain": chain, "desc": "bench", "trigger": {"once": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(due))},
        "target": {"action": "export", "export_index": index, "export_format": "csv"}}
    c.request("POST", "/tasks", body=json.dumps(body),
              headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit("POST /tasks: %d %s" % (r.status, data[:200]))
    return json.loads(data)["id"]


def one_round(args, pg, rnd, n_nodes):
    db = "tw_r%d_n%d" % (rnd, n_nodes)
    pg.psql("CREATE DATABASE %s" % db)
    nodes = [Node(args.work, args.build, args.build + "/plugins", 0, pg.dsn(db))]
    tok = nodes[0].token([1])
    c = nodes[0].conn()
    due = int(time.time()) + 4 + args.n // 100 + n_nodes  # room to create them under load
    for _ in range(args.n):
        create(c, tok, 1, due)
    for i in range(1, n_nodes):
        nodes.append(Node(args.work, args.build, args.build + "/plugins", i, pg.dsn(db)))
    if time.time() >= due:
        sys.exit("creating the tasks took past their due time")
    while time.time() < due:
        time.sleep(0.002)
    t0 = time.time()
    tree = proc_tree()
    cpu0 = [tree_cpu_ms(tree, nd.proc.pid) for nd in nodes]
    pg0 = tree_cpu_ms(tree, pg.postmaster())
    while count(c, tok, "DONE") < args.n:
        time.sleep(0.1)
        if time.time() - t0 > 600:
            sys.exit("not all DONE after 600 s")
    wall = time.time() - t0
    tree = proc_tree()
    cpu = [tree_cpu_ms(tree, nd.proc.pid) - cpu0[i] for i, nd in enumerate(nodes)]
    pgcpu = tree_cpu_ms(tree, pg.postmaster()) - pg0
    started = [nd.metric("taskwheel_runs_started_total") for nd in nodes]
    lost = [nd.metric("taskwheel_run_claims_lost_total") for nd in nodes]
    twice = pg.psql("SELECT count(*) FROM tasks WHERE attempt <> 1 OR state <> 2", db).strip()
    for nd in nodes:
        nd.stop()
    pg.psql("DROP DATABASE %s WITH (FORCE)" % db)  # a backend may still be exiting
    return {"nodes": n_nodes, "wall": wall, "rps": args.n / wall, "cpu": cpu, "pg": pgcpu,
            "started": started, "lost": lost, "not_once": int(twice)}


def commit_latency(pg):
    pg.psql("CREATE DATABASE lat")
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, v bigint); INSERT INTO t VALUES (1, 0)", "lat")
    script = os.path.join(pg.dir, "lat.sql")
    with open(script, "w") as f:
        f.write("UPDATE t SET v = v + 1 WHERE id = 1;\n")
    out = subprocess.run([PGBIN + "/pgbench", "-n", "-c", "1", "-T", "3", "-f", script,
                          pg.dsn("lat")], capture_output=True, text=True).stdout
    pg.psql("DROP DATABASE lat")
    for line in out.splitlines():
        if line.startswith("latency average"):
            return line.split("=")[1].strip()
    return "?"


def rescues(args, pg):
    pg.psql("CREATE DATABASE resc")
    plugins = args.build + "/tests/runplugins"
    nodes = [Node(args.work, args.build, plugins, 0, pg.dsn("resc"))]
    tok = nodes[0].token([9121])
    nodes.append(Node(args.work, args.build, plugins, 1, pg.dsn("resc")))
    times = []
    for k in range(args.rescues):
        tid = create(nodes[k % 2].conn(), tok, 9121, int(time.time()) + 2, "testrun")
        # every node arms tasks it learns of; the other one only at start: restart it
        other = nodes[1 - k % 2]
        other.stop()
        other.start()
        runner = None
        for _ in range(600):  # the node whose claim holds the task (schema step 7: run_node)
            owner = pg.psql("SELECT run_node FROM tasks WHERE id = %d AND state = 1" % tid,
                            "resc").strip()
            runner = next((nd for nd in nodes if nd.name == owner), None)
            if runner:
                break
            time.sleep(0.05)
        if runner is None:
            sys.exit("no node started the run")
        time.sleep(1)
        survivor = nodes[1 - nodes.index(runner)]
        runner.stop(signal.SIGKILL)
        t0 = time.time()
        msg = "interrupted: lease of node %s expired" % runner.name
        c = survivor.conn()
        while True:
            c.request("GET", "/tasks/%d?log_limit=100" % tid,
                      headers={"Authorization": "Bearer " + tok})
            task = json.loads(c.getresponse().read())
            if any(e["msg"] == msg for e in task.get("logs", [])):
                break
            if time.time() - t0 > 60:
                sys.exit("not rescued in 60 s")
            time.sleep(0.05)
        times.append(time.time() - t0)
        print("  kill %2d: %s rescued by %s after %.2f s" % (k + 1, runner.name, survivor.name,
                                                             times[-1]), flush=True)
        runner.start()
    for nd in nodes:
        nd.stop()
    return times


def main():
    global ROOT
    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--rescues", type=int, default=20)
    ap.add_argument("--work", default=os.environ.get("WORK", "/tmp/tw-bench-cluster"))
    args = ap.parse_args()
    args.build = os.path.abspath(os.path.join(ROOT, args.build) if not os.path.isabs(args.build)
                                 else args.build)
    os.makedirs(args.work, exist_ok=True)
    pg = Pg(args.work)
    try:
        print("PostgreSQL commit latency (pgbench, 1 client, single-row UPDATE): %s"
              % commit_latency(pg), flush=True)
        rows = []
        for rnd in range(args.rounds):
            for n in [int(x) for x in args.nodes.split(",") if x]:
                r = one_round(args, pg, rnd, n)
                rows.append(r)
                print("round %d, %d node(s): %d runs in %.2f s = %.0f runs/s; CPU ms per run: "
                      "nodes %s, PostgreSQL %.2f; started %s, claims lost %s; not exactly once: %d"
                      % (rnd + 1, n, args.n, r["wall"], r["rps"],
                         " ".join("%.2f" % (x / args.n) for x in r["cpu"]), r["pg"] / args.n,
                         r["started"], r["lost"], r["not_once"]), flush=True)
        for n in sorted({r["nodes"] for r in rows}):
            v = [r["rps"] for r in rows if r["nodes"] == n]
            print("%d node(s): runs/s %s" % (n, " ".join("%.0f" % x for x in v)))
        if args.rescues:
            t = sorted(rescues(args, pg))
            print("rescue after kill -9 over %d kills (lease 4, heartbeat 1): p50 %.2f s, "
                  "p90 %.2f s, max %.2f s" % (len(t), statistics.median(t),
                                              t[int(0.9 * (len(t) - 1))], t[-1]))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
