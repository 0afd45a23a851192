"""The coordinator of benches/compare/run.sh (Python 3 stdlib only).

Starts one long-lived worker per contender (each builds its realm, fills
its store with live tokens, proves the equivalence answers and prints
"ready", or the run fails), pins every worker to one core when the
machine allows, then runs ROUNDS rounds: each round shuffles the
contenders' order and asks each for one batch per operation
("batch OP N"; the worker times the batch itself and answers ns per
call). The Rust worker also answers the operations' physical floor
("floor OP N") every round and, once after the rounds, allocations per
call ("allocs OP N").

A ratio is computed within a round (a neighbour's burst lands on both
sides of it far more often than on two medians), then summarised as the
median and the min-max over the rounds.

Usage: coordinator.py --rounds R --out DIR --contender NAME BATCH COMMAND...
       (--contender repeated; COMMAND one shell-split string; the first
       contender is the reference the ratios divide by)
"""

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time

OPS = ["client_credentials", "auth_code_pkce", "refresh_rotation",
       "introspection", "bearer_check", "device_poll", "par_push"]
FLOOR_OPS = ["client_credentials", "auth_code_pkce", "introspection", "bearer_check"]


class Worker:
    def __init__(self, name, batch, command, cpu, out):
        self.name, self.batch = name, batch
        self.err = open(os.path.join(out, "worker-%s.stderr" % name), "w+")
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     bufsize=1)
        self.pinned = False
        if cpu is not None:
            try:
                os.sched_setaffinity(self.proc.pid, {cpu})
                self.pinned = True
            except OSError:
                pass

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.err.seek(0)
            raise SystemExit("worker %s ended (status %s): %s"
                             % (self.name, self.proc.returncode, self.err.read()[-2000:]))
        return line.strip()

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--out", required=True)
    p.add_argument("--floor-batch", type=int, default=2000)
    p.add_argument("--contender", nargs=3, action="append", required=True,
                   metavar=("NAME", "BATCH", "COMMAND"))
    args = p.parse_args()
    allowed = sorted(os.sched_getaffinity(0))
    # One core for every worker (they run one at a time); the coordinator
    # itself stays off it when there is another.
    cpu = allowed[-1] if allowed else None
    workers = []
    try:
        for name, batch, command in args.contender:
            started = time.time()
            w = Worker(name, int(batch), command, cpu, args.out)
            workers.append(w)
            ready = w.read()
            if ready != "ready":
                raise SystemExit("worker %s: %r instead of ready" % (name, ready))
            print("%s ready (set-up and equivalence checks: %.1fs)" % (name, time.time() - started),
                  file=sys.stderr)
        if len(allowed) > 1:
            try:
                os.sched_setaffinity(0, set(allowed[:-1]))
            except OSError:
                pass
        pinned = all(w.pinned for w in workers)
        samples = {}   # (name, op) -> [ns per round]
        floors = {}    # op -> [ns per round]
        loads = [loadavg()]
        reference = workers[0]
        for r in range(args.rounds):
            order = workers[:]
            random.shuffle(order)
            for w in order:
                for op in OPS:
                    answer = w.ask("batch %s %d" % (op, w.batch))
                    samples.setdefault((w.name, op), []).append(
                        None if answer == "n/a" else float(answer))
            for op in FLOOR_OPS:
                floors.setdefault(op, []).append(
                    float(reference.ask("floor %s %d" % (op, args.floor_batch))))
            loads.append(loadavg())
            print("round %d/%d done (order %s, load %.2f)"
                  % (r + 1, args.rounds, " ".join(w.name for w in order), loads[-1]),
                  file=sys.stderr)
        allocs = {op: float(reference.ask("allocs %s 1000" % op)) for op in OPS}
    finally:
        for w in workers:
            w.stop()
    result = {
        "rounds": args.rounds,
        "contenders": [(w.name, w.batch) for w in workers],
        "pinned": pinned, "cpu": cpu, "cpus": allowed,
        "load": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)},
        "samples": {"%s\t%s" % k: v for k, v in samples.items()},
        "floors": floors, "allocs": allocs,
    }
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
