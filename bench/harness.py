#!/usr/bin/env python3
"""Ferry's benchmark: direct, Ferry (sockmap, splice, copy) and HAProxy measured side by side.

Started by bench/run, which installs the tools, builds Ferry and raises limits. For each topology
(loopback, or client / proxy / backend namespaces joined by veth pairs) it starts the backends and
every target once, warms them up, then runs the rounds: each round runs each scenario against
each target in turn, so that all targets see the same machine state. Raw samples go to
RESULTS/latest.json; bench/report.py turns them into latest.md and the charts.

Only the standard library is used here. Every load is bounded in count and time, and all traffic
stays on loopback or inside the namespaces this script creates (and deletes on exit).
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PROFILES = {
    # A full run: about 25 minutes on 2 cores with the five targets.
    # warm_conn_s: new connections before the rounds (Ferry's CPU per connection falls about fourfold over
    # its first 20 s of connections). A Ferry target then gets more, warm_more_s at a time and at most
    # warm_more_max times, until its JIT compiler threads used less than jit_settled of the wall time.
    "full": dict(rounds=5, bulk_s=3, lat_s=2, conn_s=2, conn_conc=32, hold_small=10_000,
                 hold_big=100_000, big_topologies=("loopback",), warmup=True, warm_conn_s=20, quiet_wait=15,
                 warm_more_s=5, warm_more_max=6, jit_settled=0.05),
    # CI: proves every path works; asserts no speed.
    "smoke": dict(rounds=1, bulk_s=1, lat_s=1, conn_s=1, conn_conc=8, hold_small=200,
                  hold_big=0, big_topologies=(), warmup=False, warm_conn_s=0, quiet_wait=0),
}

TARGETS = ["direct", "ferry-sockmap", "ferry-sockmap-flow", "ferry-splice", "ferry-copy", "haproxy"]
SCENARIOS = ["bulk1", "bulk8", "lat64", "lat16k", "conn", "mem"]
SNI = "svc.bench.example"

# How often a bulk test asks again when iperf3 -s is still busy with the previous one (0.2 s more each time).
IPERF_BUSY_RETRIES = 5

# Ports. Backends: iperf3, sockperf, TLS responder, 8 hold endpoints (idle connections).
IPERF_PORT, SOCKPERF_PORT, TLS_PORT, HOLD_PORT0, HOLD_PORTS = 5201, 11111, 7000, 7100, 8
# Each proxy gets a block: base+1 iperf, +2 sockperf, +3 tls, +4 hold, +9 Ferry's admin. The fresh
# instance started for each memory measurement uses base+50 in the same way.
PROXY_BASE = {"ferry-sockmap": 8000, "ferry-splice": 8100, "ferry-copy": 8200, "haproxy": 8300,
              "ferry-sockmap-flow": 8400}
# Ferry targets that differ from their plane's default configuration: sockmap with flow control on.
FLOW = {"ferry-sockmap": "0", "ferry-sockmap-flow": "4MiB"}


def ferry_plane(target):
    """The data plane a Ferry target runs: ferry-sockmap-flow is the sockmap plane."""
    return target[len("ferry-"):].split("-", 1)[0]
FRESH = 50
WARM_CONNECTIONS = 500
SERVICE_OFFSET = {"iperf": 1, "sockperf": 2, "tls": 3, "hold": 4}


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def run(argv, timeout=60, check=True, input=None):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return done


# ------------------------------------------------------------------------------ host counters

def cpu_busy_seconds():
    """Busy CPU time of the whole host (every core), in seconds, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def background_busy(seconds=0.5):
    """Fraction of the host's CPUs busy while the harness itself sleeps: load we do not control."""
    start, t0 = cpu_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (cpu_busy_seconds() - start) / (time.monotonic() - t0) / os.cpu_count()


def slab_objects():
    """Bytes of live objects per kernel slab cache (active objects x object size), host-wide.
    Less noisy than meminfo's Slab, which counts whole pages, partly empty ones included."""
    caches = {}
    with open("/proc/slabinfo") as f:
        for line in f.readlines()[2:]:
            v = line.split()
            caches[v[0]] = int(v[1]) * int(v[3])
    return caches


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def stat_cpu_seconds(stat):
    """utime + stime of a /proc stat line (whose name field may hold spaces and parentheses), in seconds."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compiler_cpu_seconds(pid):
    """utime + stime of a JVM's JIT compiler threads ("C1 CompilerThre", "C2 CompilerThre"), in seconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        if "CompilerThre" in stat[stat.index("(") + 1:stat.rindex(")")]:
            total += stat_cpu_seconds(stat)
    return total


def process_cpu_seconds(pid):
    """utime + stime of a process and all its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        return stat_cpu_seconds(f.read())


def ns_socket_buffers(ns):
    """(TCP sockets, bytes of socket buffer memory) in one namespace, from ss's skmem:
    receive queue + send queue + forward allocation + option memory + backlog."""
    out = run(["ip", "netns", "exec", ns, "ss", "-tmHa"], timeout=60).stdout
    sockets, total = 0, 0
    for m in re.finditer(r"skmem:\(r(\d+),rb\d+,t\d+,tb\d+,f(\d+),w(\d+),o(\d+),bl(\d+)", out):
        sockets += 1
        total += sum(int(x) for x in m.groups())
    return sockets, total


def ns_tcp_inuse(ns):
    """TCP sockets in use in one namespace (sockstat's inuse is per namespace)."""
    out = run(["ip", "netns", "exec", ns, "cat", "/proc/net/sockstat"]).stdout
    v = next(line for line in out.splitlines() if line.startswith("TCP:")).split()
    return int(v[v.index("inuse") + 1])


# ------------------------------------------------------------------------------ topologies

class Topology:
    """Where each party runs and which addresses it uses. Namespaces are created fresh."""

    def __init__(self, name):
        self.name = name
        if name == "loopback":
            # One private namespace: loopback exactly as on the host, but with its own ports and
            # sysctls, so that nothing else on the machine collides with the benchmark.
            self.ns = {"client": "fbench-lo", "proxy": "fbench-lo", "backend": "fbench-lo"}
            self.backend_ip = self.proxy_ip = self.client_ip = "127.0.0.1"
            self.client_sources = [f"127.2.0.{i}" for i in range(1, 17)]
            self.proxy_admin_ip = "127.0.0.1"
        else:
            self.ns = {"client": "fbench-cli", "proxy": "fbench-prx", "backend": "fbench-srv"}
            self.client_ip, self.proxy_ip, self.backend_ip = "10.213.1.1", "10.213.1.2", "10.213.2.2"
            self.client_sources = [f"10.213.1.{i}" for i in range(11, 27)]
            self.proxy_admin_ip = "127.0.0.1"

    def namespaces(self):
        return sorted(set(self.ns.values()))

    def exec(self, role, argv):
        return ["ip", "netns", "exec", self.ns[role]] + list(argv)

    def setup(self):
        self.teardown()
        for ns in self.namespaces():
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            for key, value in [("net.core.somaxconn", "65535"), ("net.ipv4.tcp_max_syn_backlog", "65535"),
                               ("net.ipv4.ip_local_port_range", "10000 65000"),
                               ("net.ipv4.tcp_tw_reuse", "1")]:
                run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}"])
        if self.name == "netns":
            cli, prx, srv = self.ns["client"], self.ns["proxy"], self.ns["backend"]
            run(["ip", "link", "add", "fb-c", "netns", cli, "type", "veth", "peer", "name", "fb-pc", "netns", prx])
            run(["ip", "link", "add", "fb-s", "netns", srv, "type", "veth", "peer", "name", "fb-ps", "netns", prx])
            run(["ip", "-n", cli, "addr", "add", "10.213.1.1/24", "dev", "fb-c"])
            for source in self.client_sources:
                run(["ip", "-n", cli, "addr", "add", source + "/24", "dev", "fb-c"])
            run(["ip", "-n", prx, "addr", "add", "10.213.1.2/24", "dev", "fb-pc"])
            run(["ip", "-n", prx, "addr", "add", "10.213.2.1/24", "dev", "fb-ps"])
            run(["ip", "-n", srv, "addr", "add", "10.213.2.2/24", "dev", "fb-s"])
            for ns, dev in [(cli, "fb-c"), (prx, "fb-pc"), (prx, "fb-ps"), (srv, "fb-s")]:
                run(["ip", "-n", ns, "link", "set", dev, "up"])
            run(["ip", "-n", cli, "route", "add", "default", "via", "10.213.1.2"])
            run(["ip", "-n", srv, "route", "add", "default", "via", "10.213.2.1"])
            # "direct" crosses the proxy namespace as a plain router: same wires, no proxy.
            run(["ip", "netns", "exec", prx, "sysctl", "-qw", "net.ipv4.ip_forward=1"])

    def teardown(self):
        for ns in self.namespaces():
            if os.path.exists(f"/run/netns/{ns}"):
                pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                run(["ip", "netns", "del", ns], check=False)


# ------------------------------------------------------------------------------ processes

class Processes:
    """Long-running servers of one topology; each is killed by its own process id at the end."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def start(self, name, argv):
        out = open(os.path.join(self.logdir, name + ".log"), "w")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        proc.bench_name = name
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


def wait_listening(topo, role, ip, port, proc, timeout=30):
    """Waits until something listens on ip:port in that namespace (no connection is made)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.bench_name} exited with {proc.returncode} (see its log)")
        out = run(topo.exec(role, ["ss", "-Hltn", f"src {ip}:{port}"]), check=False).stdout
        if out.strip():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.bench_name}: nothing listens on {ip}:{port} after {timeout} s")


# ------------------------------------------------------------------------------ targets

class Target:
    def __init__(self, name, topo):
        self.name, self.topo = name, topo
        self.available, self.reason, self.proc, self.pid = True, None, None, None
        self.note = None  # e.g. how the data plane was selected

    def address(self, service):
        """Where the client connects for a service: a list for hold (spread over endpoints)."""
        t = self.topo
        if self.name == "direct":
            ports = {"iperf": [IPERF_PORT], "sockperf": [SOCKPERF_PORT], "tls": [TLS_PORT],
                     "hold": [HOLD_PORT0 + i for i in range(HOLD_PORTS)]}[service]
            return [(t.backend_ip, p) for p in ports]
        return [(t.proxy_ip, PROXY_BASE[self.name] + SERVICE_OFFSET[service])]

    @property
    def admin_port(self):
        return PROXY_BASE[self.name] + 9


def ferry_config(topo, target, plane, base=None):
    base = base or PROXY_BASE[target]
    b = topo.backend_ip
    lines = []
    if plane:
        lines.append(f"dataplane: {plane}")
    if target in FLOW:
        lines.append(f"flow: {{ max_in_flight: {FLOW[target]} }}")
    lines += ["sockmap:", "  max_connections: 262144",
              "admin:", f"  address: {topo.proxy_admin_ip}:{base + 9}", "listeners:"]
    for service, cluster_routes in [("iperf", None), ("sockperf", None), ("tls", "sni"), ("hold", None)]:
        lines += [f"  - name: {service}", f"    address: {topo.proxy_ip}:{base + SERVICE_OFFSET[service]}",
                  "    idle_timeout: 1h", "    routes:"]
        if cluster_routes == "sni":
            lines += ["      - match: { sni: \"*.bench.example\" }", f"        cluster: {service}"]
        else:
            lines += [f"      - cluster: {service}"]
    endpoints = {"iperf": [IPERF_PORT], "sockperf": [SOCKPERF_PORT], "tls": [TLS_PORT],
                 "hold": [HOLD_PORT0 + i for i in range(HOLD_PORTS)]}
    lines.append("clusters:")
    for service, ports in endpoints.items():
        eps = ", ".join(f"\"{b}:{p}\"" for p in ports)
        lines += [f"  - name: {service}", f"    endpoints: [ {eps} ]", "    connect_timeout: 2s"]
    return "\n".join(lines) + "\n"


def haproxy_config(topo, base=None):
    base = base or PROXY_BASE["haproxy"]
    p, b = topo.proxy_ip, topo.backend_ip
    # HAProxy needs two descriptors per connection and two per splice pipe (maxpipes defaults to
    # maxconn/4), and refuses to start when that exceeds the open files limit. 500 pipes are plenty:
    # a pipe is held only while spliced data sits in it.
    MAXPIPES = 500
    MAXCONN = min(250_000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 2 * MAXPIPES - 300) // 2)
    hold_servers = "\n".join(f"    server h{i} {b}:{HOLD_PORT0 + i}" for i in range(HOLD_PORTS))
    return f"""# Generated by bench/harness.py: the same routing as Ferry's configuration.
global
    maxconn {MAXCONN}
    maxpipes {MAXPIPES}
    # One line per connection, as Ferry's access log writes: without it HAProxy's CPU per connection
    # would leave out a cost Ferry's includes.
    log stdout format raw local0 info

defaults
    mode tcp
    log global
    option tcplog
    option splice-auto
    timeout connect 2s
    timeout client 1h
    timeout server 1h

frontend iperf
    bind {p}:{base + 1}
    default_backend iperf
backend iperf
    server s1 {b}:{IPERF_PORT}

frontend sockperf
    bind {p}:{base + 2}
    default_backend sockperf
backend sockperf
    server s1 {b}:{SOCKPERF_PORT}

# SNI routing, as Ferry's `match: {{ sni: "*.bench.example" }}`; no match: the connection is closed.
frontend tls
    bind {p}:{base + 3}
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    use_backend tls if {{ req.ssl_sni -m end .bench.example }}
backend tls
    server s1 {b}:{TLS_PORT}

frontend hold
    bind {p}:{base + 4}
    default_backend hold
backend hold
    balance roundrobin
{hold_servers}
"""


class Bench:
    def __init__(self, args, profile):
        self.args, self.p = args, profile
        self.java = args.java
        self.jar = args.jar
        self.work = args.work
        os.makedirs(self.work, exist_ok=True)
        self.classes = os.path.join(self.work, "classes")
        self.hello = os.path.join(self.work, "clienthello.bin")
        self.results = {"meta": {}, "profile": {k: list(v) if isinstance(v, tuple) else v
                                                for k, v in profile.items()},
                        "topologies": {}}
        self.plane_support = {}
        self.quiet_budget = 120  # seconds of waiting for other programs, in the whole run

    # -------------------------------------------------------------- preparation

    def prepare(self):
        run([os.path.join(os.path.dirname(self.java), "javac"), "-d", self.classes,
             os.path.join(HERE, "Load.java")], timeout=120)
        with open(self.hello, "wb") as f:
            f.write(client_hello(SNI))
        self.results["meta"] = machine_info(self)
        self.detect_planes()

    def detect_planes(self):
        """Asks Ferry itself (validate) whether it accepts `dataplane: X` for each plane."""
        topo = Topology("loopback")
        for target in [t for t in TARGETS if t.startswith("ferry-")]:
            plane = ferry_plane(target)
            path = os.path.join(self.work, f"probe-{target}.yaml")
            with open(path, "w") as f:
                f.write(ferry_config(topo, target, plane))
            done = run([self.java, "--enable-native-access=ALL-UNNAMED", "-jar", self.jar, "validate", path],
                       check=False, timeout=60)
            if done.returncode == 0:
                flow = f", `flow: {{ max_in_flight: {FLOW[target]} }}`" if target in FLOW else ""
                self.plane_support[target] = (True, plane, f"`dataplane: {plane}`{flow}")
                continue
            message = (done.stderr.strip() or done.stdout.strip()).splitlines()
            message = message[0] if message else f"validate exited {done.returncode}"
            if plane == "sockmap":
                # A Ferry without the key: sockmap is its only plane, used without the key.
                with open(path, "w") as f:
                    f.write(ferry_config(topo, target, None))
                if run([self.java, "-jar", self.jar, "validate", path], check=False).returncode == 0:
                    self.plane_support[target] = (True, None, "default plane (this Ferry has no `dataplane` key)")
                    continue
            self.plane_support[target] = (False, plane, f"not available: Ferry refuses `dataplane: {plane}` ({message})")
        log("data planes:", {k: v[2] for k, v in self.plane_support.items()})

    # -------------------------------------------------------------- one topology

    def run_topology(self, name):
        topo = Topology(name)
        logdir = os.path.join(self.work, "logs", name)
        os.makedirs(logdir, exist_ok=True)
        res = {"targets": {}, "samples": {s: {} for s in SCENARIOS + ["mem_big"]}, "errors": [],
               "background": [], "ferry_stats": {}}
        self.results["topologies"][name] = res
        procs = Processes(logdir)
        log(f"== topology {name}: setting up")
        try:
            topo.setup()
            self.start_backends(topo, procs)
            targets = [Target(t, topo) for t in self.args.targets]
            for target in targets:
                self.start_target(topo, target, procs, logdir)
                res["targets"][target.name] = {"available": target.available, "reason": target.reason,
                                               "note": target.note}
            live = [t for t in targets if t.available]
            if self.p["warmup"]:
                log("warm-up (not recorded)")
                for target in live:
                    self.safe(res, target, "warmup", lambda t=target: (
                        self.bulk(topo, t, 1, 1), self.connrate(topo, t, self.p["warm_conn_s"])))
                for target in live:
                    if target.name.startswith("ferry-") and target.pid:
                        res["targets"][target.name]["warmup"] = self.safe(
                            res, target, "warmup", lambda t=target: self.warm_until_compiled(topo, t))
            for rnd in range(1, self.p["rounds"] + 1):
                res["background"].append(background_busy())
                log(f"round {rnd}/{self.p['rounds']} (background busy {res['background'][-1]:.0%})")
                for scenario in self.args.scenarios:
                    for target in live:
                        bg = self.wait_quiet()
                        t0 = time.monotonic()
                        sample = self.safe(res, target, scenario, lambda t=target, s=scenario: self.scenario(topo, t, s))
                        if sample is not None:
                            sample["round"], sample["background"] = rnd, bg
                            log(f"  {scenario:6} {target.name:13} {headline(scenario, sample)} "
                                f"({time.monotonic() - t0:.1f} s{'' if bg is None else f', other load {bg:.0%}'})")
                            res["samples"][scenario].setdefault(target.name, []).append(sample)
            if self.p["hold_big"] and name in self.p["big_topologies"] and "mem" in self.args.scenarios:
                for target in live:
                    sample = self.safe(res, target, "mem_big", lambda t=target: self.memory(topo, t, self.p["hold_big"]))
                    if sample is not None:
                        log(f"  mem_big {target.name:13} {headline('mem', sample)}")
                        res["samples"]["mem_big"].setdefault(target.name, []).append(sample)
            for target in live:
                if target.name.startswith("ferry-"):
                    res["ferry_stats"][target.name] = self.ferry_planes(topo, target)
        finally:
            procs.stop_all()
            topo.teardown()

    def wait_quiet(self):
        """Before each measurement: while other programs keep the host busy (10% or more), waits
        up to quiet_wait seconds for them to finish. Returns the busy share last seen."""
        if not self.p["quiet_wait"]:
            return None
        start = time.monotonic()
        deadline = start + min(self.p["quiet_wait"], self.quiet_budget)
        while True:
            bg = background_busy(0.3)
            if bg < 0.10 or time.monotonic() >= deadline:
                self.quiet_budget -= time.monotonic() - start
                return round(bg, 3)
            time.sleep(1)

    def safe(self, res, target, scenario, fn):
        try:
            return fn()
        except Exception as e:  # recorded and shown in the report; the run goes on
            message = f"{type(e).__name__}: {e}"[:300]
            log(f"  {scenario} {target.name}: FAILED {message}")
            res["errors"].append({"scenario": scenario, "target": target.name, "error": message})
            return None

    def start_backends(self, topo, procs):
        b = topo.backend_ip
        java = [self.java, "-XX:+UseSerialGC", "-Xmx1g", "-cp", self.classes, "Load"]
        servers = [
            ("iperf3", ["iperf3", "-s", "-B", b, "-p", str(IPERF_PORT)], IPERF_PORT),
            ("sockperf", ["sockperf", "server", "--tcp", "-i", b, "-p", str(SOCKPERF_PORT)], SOCKPERF_PORT),
            ("responder", java + ["responder", f"{b}:{TLS_PORT}"], TLS_PORT),
            ("holdserver", java + ["holdserver"] + [f"{b}:{HOLD_PORT0 + i}" for i in range(HOLD_PORTS)], HOLD_PORT0),
        ]
        started = [(name, procs.start(f"backend-{name}", topo.exec("backend", argv)), port)
                   for name, argv, port in servers]
        for name, proc, port in started:
            wait_listening(topo, "backend", b, port, proc)
        self.procs, self.iperf_server = procs, started[0][1]  # procs: this topology's processes

    def restart_iperf_server(self, topo):
        """iperf3 -s serves one test at a time and can stay stuck after a failed client."""
        self.iperf_server.kill()
        self.iperf_server.wait()
        self.iperf_server = self.procs.start("backend-iperf3-restarted", topo.exec(
            "backend", ["iperf3", "-s", "-B", topo.backend_ip, "-p", str(IPERF_PORT)]))
        wait_listening(topo, "backend", topo.backend_ip, IPERF_PORT, self.iperf_server)

    def start_target(self, topo, target, procs, logdir):
        self.logdir = logdir
        if target.name == "direct":
            target.note = "no proxy" if topo.name == "loopback" else "routed by the proxy namespace's kernel"
            return
        if target.name.startswith("ferry-"):
            ok, plane, note = self.plane_support[target.name]
            target.note = note
            if not ok:
                target.available, target.reason = False, note
                log(f"{target.name}: {note}")
                return
        else:
            target.note = "tcp mode, option splice-auto, option tcplog, nbthread 2"
        try:
            target.proc = self.launch(topo, target.name, PROXY_BASE[target.name], target.name)
            target.pid = target.proc.pid
        except RuntimeError as e:
            target.available, target.reason = False, f"not available: it did not start ({e})"
            log(f"{target.name}: {target.reason}")

    def launch(self, topo, name, base, label):
        """Starts one proxy whose listeners sit at base+1..4; returns once they all listen."""
        if name == "haproxy":
            path = os.path.join(self.logdir, f"{label}.cfg")
            with open(path, "w") as f:
                f.write(haproxy_config(topo, base))
            run(["haproxy", "-c", "-q", "-f", path])
            argv = ["haproxy", "-db", "-f", path]
        else:
            # Not beside the log: Ferry watches its configuration's directory, and every log write there
            # would wake that watcher and count in Ferry's CPU.
            confdir = os.path.join(self.work, "config", os.path.basename(self.logdir))
            os.makedirs(confdir, exist_ok=True)
            path = os.path.join(confdir, f"{label}.yaml")
            with open(path, "w") as f:
                f.write(ferry_config(topo, name, self.plane_support[name][1], base))
            opts = os.environ.get("FERRY_JAVA_OPTS", "").split()
            argv = [self.java, "--enable-native-access=ALL-UNNAMED"] + opts + ["-jar", self.jar, "run", "--config", path]
        proc = self.procs.start(label, topo.exec("proxy", argv))
        for offset in SERVICE_OFFSET.values():
            wait_listening(topo, "proxy", topo.proxy_ip, base + offset, proc)
        if name != "haproxy":
            wait_listening(topo, "proxy", topo.proxy_admin_ip, base + 9, proc)
        return proc

    # -------------------------------------------------------------- scenarios

    def scenario(self, topo, target, scenario):
        if scenario == "bulk1":
            return self.bulk(topo, target, 1, self.p["bulk_s"])
        if scenario == "bulk8":
            return self.bulk(topo, target, 8, self.p["bulk_s"])
        if scenario == "lat64":
            return self.latency(topo, target, 64)
        if scenario == "lat16k":
            return self.latency(topo, target, 16384)
        if scenario == "conn":
            return self.connrate(topo, target, self.p["conn_s"])
        if scenario == "mem":
            return self.memory(topo, target, self.p["hold_small"])
        raise ValueError(scenario)

    def warm_until_compiled(self, topo, target):
        """More new connections while the JIT compiler threads are busy: until they used less than
        jit_settled of the last burst's wall time, at most warm_more_max bursts. Returns what it did."""
        bursts, share = 0, None
        for bursts in range(1, self.p["warm_more_max"] + 1):
            jit0, t0 = compiler_cpu_seconds(target.pid), time.monotonic()
            self.connrate(topo, target, self.p["warm_more_s"])
            share = (compiler_cpu_seconds(target.pid) - jit0) / (time.monotonic() - t0)
            if share < self.p["jit_settled"]:
                break
        log(f"  {target.name}: {bursts * self.p['warm_more_s']} s more warm-up, JIT compiler threads at "
            f"{share:.0%} of the wall time in the last {self.p['warm_more_s']} s")
        return {"extra_s": bursts * self.p["warm_more_s"], "jit_share": share,
                "settled_below": self.p["jit_settled"]}

    def bulk(self, topo, target, streams, seconds):
        ip, port = target.address("iperf")[0]
        argv = topo.exec("client", ["iperf3", "-c", ip, "-p", str(port), "-t", str(seconds), "-P", str(streams),
                                    "-J", "--connect-timeout", "3000"])
        for attempt in range(IPERF_BUSY_RETRIES + 1):
            own0 = process_cpu_seconds(target.pid) if target.pid else None
            cpu0 = cpu_busy_seconds()
            t0 = time.monotonic()
            try:
                done = run(argv, timeout=seconds + 20, check=False)
            except subprocess.TimeoutExpired:
                self.restart_iperf_server(topo)
                raise
            cpu = cpu_busy_seconds() - cpu0
            wall = time.monotonic() - t0
            own = process_cpu_seconds(target.pid) - own0 if target.pid else None
            try:
                data = json.loads(done.stdout)
            except json.JSONDecodeError:
                self.restart_iperf_server(topo)
                raise RuntimeError(f"iperf3 gave no JSON (exit {done.returncode}): {done.stderr.strip()[-200:]}")
            # iperf3 -s refuses a test until it has seen the previous one end, and through a proxy that
            # end can reach it after the client has returned: a CI smoke run once started HAProxy's test
            # before the server had the end of the copy plane's. A refused test sent nothing: ask again.
            if "busy" in data.get("error", "") and attempt < IPERF_BUSY_RETRIES:
                log(f"iperf3 server still busy with the previous test; asking again ({attempt + 1})")
                time.sleep(0.2 * (attempt + 1))
                continue
            break
        if "error" in data:
            self.restart_iperf_server(topo)
            raise RuntimeError(f"iperf3: {data['error']}")
        received = data["end"]["sum_received"]
        nbytes = received["bytes"]
        return {"gbps": received["bits_per_second"] / 1e9, "bytes": nbytes, "cpu_s": cpu, "wall_s": wall,
                "cpu_s_per_gib": cpu / (nbytes / 2**30) if nbytes else None,
                "proxy_cpu_s_per_gib": own / (nbytes / 2**30) if nbytes and own is not None else None,
                "retransmits": data["end"].get("sum_sent", {}).get("retransmits")}

    def latency(self, topo, target, size):
        ip, port = target.address("sockperf")[0]
        argv = topo.exec("client", ["sockperf", "ping-pong", "--tcp", "-i", ip, "-p", str(port), "-m", str(size),
                                    "-t", str(self.p["lat_s"]), "--full-rtt"])
        done = run(argv, timeout=self.p["lat_s"] + 20, check=False)
        text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
        pct = {m.group(1): float(m.group(2)) for m in re.finditer(r"percentile\s+([\d.]+)\s*=\s*([\d.]+)", text)}
        obs = re.search(r"Total (\d+) observations", text)
        avg = re.search(r"avg-rtt=([\d.]+)", text)
        if "50.000" not in pct or not obs:
            tail = " | ".join(text.strip().splitlines()[-3:])
            raise RuntimeError(f"sockperf gave no percentiles (exit {done.returncode}): {tail[-250:]}")
        return {"p50": pct["50.000"], "p99": pct["99.000"], "p99.9": pct["99.900"],
                "avg": float(avg.group(1)) if avg else None, "observations": int(obs.group(1))}

    def load_java(self, heap="1g"):
        return [self.java, "-XX:+UseSerialGC", f"-Xmx{heap}", "-cp", self.classes, "Load"]

    def connrate(self, topo, target, seconds):
        ip, port = target.address("tls")[0]
        argv = topo.exec("client", self.load_java() + ["connrate", f"{ip}:{port}", self.hello, str(seconds),
                                                       str(self.p["conn_conc"])] + topo.client_sources[:8])
        own0 = process_cpu_seconds(target.pid) if target.pid else None
        cpu0 = cpu_busy_seconds()
        done = run(argv, timeout=seconds + 30)
        cpu = cpu_busy_seconds() - cpu0
        own = process_cpu_seconds(target.pid) - own0 if target.pid else None
        data = json.loads(done.stdout.strip().splitlines()[-1])
        if data["completed"] == 0:
            raise RuntimeError(f"no connection completed ({data['errors']} errors)")
        return {"rate": data["rate"], "completed": data["completed"], "errors": data["errors"],
                "ttfb_p50": data["ttfb_us"]["p50"], "ttfb_p99": data["ttfb_us"]["p99"],
                "ttfb_p99.9": data["ttfb_us"]["p99.9"], "close_p50": data["close_us"]["p50"],
                "close_p99": data["close_us"]["p99"],
                "host_cpu_us_per_conn": cpu * 1e6 / data["completed"],
                "proxy_cpu_us_per_conn": own * 1e6 / data["completed"] if own is not None else None}

    def java_heap_used(self, pid):
        """Live heap after a full GC (jcmd GC.run, then GC.heap_info), in bytes."""
        jcmd = os.path.join(os.path.dirname(self.java), "jcmd")
        run([jcmd, str(pid), "GC.run"], timeout=60)
        out = run([jcmd, str(pid), "GC.heap_info"], timeout=60).stdout
        m = re.search(r"used (\d+)K", out)
        return int(m.group(1)) * 1024 if m else None

    def proxy_memory(self, pid, name):
        """(RSS, live Java heap) of a proxy process; for Ferry both after a full GC, so that
        garbage and the heap's own growth and shrinking do not pass for connection memory."""
        if pid is None:
            return None, None
        heap = self.java_heap_used(pid) if name.startswith("ferry-") else None
        return rss_bytes(pid), heap

    def memory(self, topo, target, count):
        """Idle connections through a fresh instance of the proxy, started for this measurement
        alone: memory that earlier tests left in the process's pools would otherwise pass for
        connection memory, and memory the pools keep from earlier rounds would hide it. The
        instance first opens and closes WARM_CONNECTIONS (JIT, classes, first pool chunks), then
        the baseline is taken."""
        if target.name == "direct":
            return self.hold(topo, target.address("hold"), count, None, target.name)
        base = PROXY_BASE[target.name] + FRESH
        proc = self.launch(topo, target.name, base, f"{target.name}-fresh")
        try:
            address = [(topo.proxy_ip, base + SERVICE_OFFSET["hold"])]
            self.hold(topo, address, WARM_CONNECTIONS, None, target.name)
            return self.hold(topo, address, count, proc.pid, target.name)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self.wait_drained(topo)

    def hold(self, topo, addresses, count, pid, name):
        """Opens count idle connections, measures around them (when pid is given, that proxy's
        memory too), closes them and waits until every socket is gone."""
        targets = ",".join(f"{ip}:{port}" for ip, port in addresses)
        rss0, heap0 = self.proxy_memory(pid, name)
        fds0 = len(os.listdir(f"/proc/{pid}/fd")) if pid else None
        sockmem0 = sum(ns_socket_buffers(ns)[1] for ns in topo.namespaces())
        slab0 = slab_objects()
        heap = "4g" if count > 20_000 else "1g"
        argv = topo.exec("client", self.load_java(heap) + ["hold", str(count), "512", targets] + topo.client_sources)
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = read_line(proc, 180)
            m = re.match(r"ready (\d+) failed (\d+) seconds ([\d.]+)", line or "")
            if not m:
                raise RuntimeError(f"hold client: {line!r} {proc.stderr.read()[-300:] if proc.poll() is not None else ''}")
            ready, failed, setup_s = int(m.group(1)), int(m.group(2)), float(m.group(3))
            if ready < count:
                fds = f"; the proxy holds {len(os.listdir(f'/proc/{pid}/fd'))} descriptors" if pid else ""
                raise RuntimeError(f"only {ready} of {count} connections established ({failed} failed{fds})")
            time.sleep(0.5)
            rss1, heap1 = self.proxy_memory(pid, name)
            fds1 = len(os.listdir(f"/proc/{pid}/fd")) if pid else None
            sockmem1 = sum(ns_socket_buffers(ns)[1] for ns in topo.namespaces())
            slab1 = slab_objects()
            proc.stdin.write("close\n")
            proc.stdin.flush()
            read_line(proc, 60)
        finally:
            if proc.poll() is None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.wait_drained(topo)
        per = lambda a, b: (b - a) / count if a is not None and b is not None else None
        slab = {cache: slab1.get(cache, 0) - slab0.get(cache, 0) for cache in set(slab0) | set(slab1)}
        top = sorted(slab.items(), key=lambda kv: -abs(kv[1]))[:8]
        return {"count": count, "setup_s": setup_s, "conn_per_s": count / setup_s if setup_s else None,
                "slab_top_caches_per_conn": {cache: round(delta / count) for cache, delta in top},
                "rss_per_conn": per(rss0, rss1), "heap_per_conn": per(heap0, heap1), "fds_per_conn": per(fds0, fds1),
                "rss_baseline": rss0, "rss_total": rss1, "heap_baseline": heap0, "heap_total": heap1,
                "sockmem_per_conn": per(sockmem0, sockmem1), "slab_per_conn": sum(slab.values()) / count}

    def wait_drained(self, topo, timeout=60):
        """Waits until the connections of the last test are gone everywhere, so the next starts clean."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            total = sum(ns_tcp_inuse(ns) for ns in topo.namespaces())
            if total < 200:
                return
            time.sleep(0.3)
        log(f"  warning: {total} TCP sockets still open {timeout} s after the idle connections closed")

    def ferry_planes(self, topo, target):
        out = run(topo.exec("proxy", ["curl", "-s", "--max-time", "5",
                                      f"http://{topo.proxy_admin_ip}:{target.admin_port}/stats"]), check=False).stdout
        planes, fallbacks = {}, {}
        for line in out.splitlines():
            m = re.match(r'ferry_connections_forwarded_total\{.*plane="([^"]+)".*\} (\d+)', line)
            if m:
                planes[m.group(1)] = planes.get(m.group(1), 0) + int(m.group(2))
            m = re.match(r'ferry_\w*fallback\w*\{?(.*?)\}? (\d+)$', line)
            if m:
                fallbacks[m.group(1) or "all"] = fallbacks.get(m.group(1) or "all", 0) + int(m.group(2))
        ended = {}
        for line in out.splitlines():
            m = re.match(r'ferry_connections_ended_total\{.*plane="([^"]+)".*\} (\d+)', line)
            if m:
                ended[m.group(1)] = ended.get(m.group(1), 0) + int(m.group(2))
        return {"forwarded_by_plane": planes, "ended_by_plane": ended, "fallbacks": fallbacks,
                "has_handoff_histogram": "handoff" in out}


def headline(scenario, s):
    try:
        return _headline(scenario, s)
    except (TypeError, KeyError, ValueError):
        return json.dumps(s)[:200]


def _headline(scenario, s):
    if scenario.startswith("bulk"):
        return f"{s['gbps']:.2f} Gbit/s, {s['cpu_s_per_gib']:.2f} CPU-s/GiB"
    if scenario.startswith("lat"):
        return f"p50 {s['p50']:.1f} µs, p99 {s['p99']:.1f} µs"
    if scenario == "conn":
        own = "" if s["proxy_cpu_us_per_conn"] is None else f", proxy CPU {s['proxy_cpu_us_per_conn']:.0f} µs/conn"
        return f"{s['rate']:.0f} conn/s, first byte p50 {s['ttfb_p50']:.0f} µs{own}"
    rss = "" if s["rss_per_conn"] is None else f"RSS {s['rss_per_conn'] / 1024:.2f} KiB/conn, "
    return f"{rss}slab {s['slab_per_conn'] / 1024:.2f} KiB/conn, {s['count']} in {s['setup_s']:.1f} s"


def read_line(proc, timeout):
    """One stdout line of a child, or None after timeout (the child is then left to the caller)."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        return None
    return proc.stdout.readline().strip()


def client_hello(server_name):
    """A real TLS ClientHello with SNI, as Python's OpenSSL writes it (no network involved)."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def first_line(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        text = (done.stdout + done.stderr).strip()
        return re.sub(r"\x1b\[[0-9;]*m", "", text.splitlines()[0]) if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(bench):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 2**20
    os_name = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            os_name = dict(line.rstrip().split("=", 1) for line in f if "=" in line).get("PRETTY_NAME", "?").strip('"')
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(), "os": os_name,
        "ferry": bench.args.ferry_version, "java": first_line([bench.java, "-version"]),
        "haproxy": first_line(["haproxy", "-v"]), "iperf3": first_line(["iperf3", "--version"]),
        "sockperf": first_line(["sockperf", "--version"]).replace("sockperf: ", ""),
        "python": platform.python_version(), "ferry_java_opts": os.environ.get("FERRY_JAVA_OPTS", ""),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


def smoke_check(results, targets):
    """What CI asserts: every available target produced every scenario; nothing about speed."""
    problems = []
    for topo, res in results["topologies"].items():
        for target, info in res["targets"].items():
            if not info["available"]:
                if not target.startswith("ferry-") or target == "ferry-sockmap":
                    problems.append(f"{topo}/{target}: not available: {info['reason']}")
                continue
            for scenario in results["scenarios"]:
                if not res["samples"].get(scenario, {}).get(target):
                    problems.append(f"{topo}/{target}: no {scenario} sample")
        for target, stats in res["ferry_stats"].items():
            plane = ferry_plane(target)
            other = {p: n for p, n in stats["forwarded_by_plane"].items() if p != plane and n}
            if plane != "sockmap":  # the sockmap plane falls back to copy by design; the others must not
                other.update({p: n for p, n in stats.get("ended_by_plane", {}).items() if p != plane and n})
            if other:
                problems.append(f"{topo}/{target}: connections forwarded by another plane: {other}")
        for error in res["errors"]:
            problems.append(f"{topo}/{error['target']}/{error['scenario']}: {error['error']}")
    return problems


def stop_on_sigterm(*_):
    raise KeyboardInterrupt("SIGTERM")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one tiny round of everything (CI)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--topologies", default="loopback,netns")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--no-big", action="store_true", help="skip the 100k idle connection measurement")
    parser.add_argument("--java", required=True)
    parser.add_argument("--jar", required=True)
    parser.add_argument("--ferry-version", default="?")
    parser.add_argument("--work", required=True, help="scratch directory (logs, configs)")
    parser.add_argument("--out", required=True, help="where latest.json, latest.md and the charts go")
    args = parser.parse_args()
    args.targets = [t for t in args.targets.split(",") if t]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    profile = dict(PROFILES["smoke" if args.smoke else "full"])
    if args.rounds:
        profile["rounds"] = args.rounds
    if args.no_big:
        profile["hold_big"] = 0

    # Each idle connection through a proxy holds two descriptors in the proxy process.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = (soft - 1000) // 2 // 1000 * 1000
    notes = []
    if profile["hold_small"] > cap:
        notes.append(f"{profile['hold_small']} idle connections measured as {cap}: the open files limit of a "
                     f"process is {soft} here and cannot be raised (no CAP_SYS_RESOURCE)")
        profile["hold_small"] = cap
    if profile["hold_big"] > cap:
        notes.append(f"{profile['hold_big']} idle connections not measured: they need {2 * profile['hold_big']} "
                     f"descriptors in the proxy process, and the open files limit is {soft} "
                     f"(no CAP_SYS_RESOURCE to raise it)")
        profile["hold_big"] = 0
    for note in notes:
        log("note:", note)
    profile["notes"] = notes
    bench = Bench(args, profile)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        bench.prepare()
        bench.results["scenarios"] = args.scenarios
        bench.results["targets"] = args.targets
        for name in args.topologies.split(","):
            bench.run_topology(name)
    finally:
        for name in ("loopback", "netns"):
            Topology(name).teardown()
    bench.results["meta"]["duration_s"] = round(time.monotonic() - started)
    bench.results["meta"]["smoke"] = args.smoke
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(bench.results, f, indent=1)
    log(f"raw samples: {os.path.join(args.out, 'latest.json')} ({bench.results['meta']['duration_s']} s)")
    sys.path.insert(0, HERE)
    import report
    report.write(bench.results, args.out)
    if args.smoke:
        problems = smoke_check(bench.results, args.targets)
        for problem in problems:
            print("smoke: FAIL", problem)
        print(f"smoke: {'FAILED' if problems else 'ok'}: {len(problems)} problem(s)")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
