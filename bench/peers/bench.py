#!/usr/bin/python3
"""Helpers for bench/run: the arithmetic and formatting that bash does badly.

  bench.py free-port
  bench.py put RESULTS KEY VALUE            store a value (JSON if it parses) in RESULTS
  bench.py get JSONFILE KEY[.KEY...]        print one field of a JSON file
  bench.py prom-hist METRICS METRIC [LABEL=VALUE...]
                                            a histogram's buckets as JSON {le: count}
  bench.py quantiles BEFORE AFTER METRIC [LABEL=VALUE...]
                                            p50/p99 (ms) and count of the histogram
                                            growth between two /metrics scrapes
  bench.py watch --until N --since EPOCH [--file PATH | --sink URL --ca CA]
                [--pid PID] [--timeout S]   poll a counter (lines in a file, or a
                                            hookd-sink's distinct events) until it
                                            reaches N; print timings as JSON
  bench.py cpu PID [PID...]                 CPU seconds each process used so far:
                                            {"self": [..], "children": [..]}
                                            (children: those it reaped)
  bench.py metric METRICS NAME              one sample's value from a /metrics scrape
  bench.py render WORKDIR OUT.md            results -> bench/results/latest.md
"""
import json
import math
import os
import re
import socket
import sys
import time

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def put(results, key, value):
    data = load_json(results, {})
    try:
        data[key] = json.loads(value)
    except ValueError:
        data[key] = value
    tmp = results + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, results)


def get(path, dotted):
    value = load_json(path)
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    return value


def parse_filters(args):
    return dict(a.split("=", 1) for a in args)


def histogram(text, metric, filters):
    """Buckets of `metric` summed over every series whose labels match."""
    buckets = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != metric + "_bucket":
            continue
        labels = dict(LABEL.findall(m.group(3) or ""))
        if any(labels.get(k) != v for k, v in filters.items()):
            continue
        le = labels.get("le")
        if le is None:
            continue
        bound = math.inf if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + float(m.group(4))
    return buckets


def quantile(q, buckets):
    """Prometheus histogram_quantile: linear inside the bucket holding rank q."""
    bounds = sorted(buckets)
    if not bounds:
        return None
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is all we know
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return bounds[-1]


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def quantiles(before, after, metric, filters):
    a = histogram(read(before), metric, filters)
    b = histogram(read(after), metric, filters)
    delta = {k: v - a.get(k, 0.0) for k, v in b.items()}
    out = {"count": delta.get(math.inf, 0.0)}
    for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
        v = quantile(q, delta)
        out[name] = None if v is None else round(v * 1000, 3)
    return out


def fsync_probe(directory, count):
    """fdatasync after each 700-byte append, alone: what the disk gives now."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    took = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 700)
            t0 = time.monotonic()
            os.fdatasync(fd)
            took.append(time.monotonic() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    took.sort()
    pick = lambda q: round(1000 * took[min(len(took) - 1, int(q * len(took)))], 3)
    return {"count": count, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0)}


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0


def sink_counter(url, ca):
    import ssl
    import urllib.request
    context = ssl.create_default_context(cafile=ca)

    def count():
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as reply:
                return int(json.load(reply).get("unique_ids", 0))
        except (OSError, ValueError):
            return 0
    return count


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"self": [], "children": []}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            fields = None
        # fields[0] is the state (field 3): utime is field 14, cstime 17.
        used["self"].append((int(fields[11]) + int(fields[12])) / ticks if fields else 0.0)
        used["children"].append((int(fields[13]) + int(fields[14])) / ticks if fields else 0.0)
    return used


def metric(text, name):
    """The value of the sample named exactly `name` (labels as rendered)."""
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head == name:
            return float(value)
    return None


def watch(args):
    """Polls every 10 ms. `rate_mid` is the counter's pace between 10 % and
    90 % of the target, which leaves out start-up and the last stragglers."""
    import argparse
    ap = argparse.ArgumentParser(prog="bench.py watch")
    ap.add_argument("--until", type=int, required=True)
    ap.add_argument("--since", type=float, required=True)
    ap.add_argument("--file")
    ap.add_argument("--sink")
    ap.add_argument("--ca")
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args(args)
    count = (lambda: count_lines(a.file)) if a.file else sink_counter(a.sink, a.ca)
    low, high = 0.1 * a.until, 0.9 * a.until
    t_low = t_high = t_first = None
    c_low = c_high = 0
    peak = 0
    n = 0
    while True:
        n = count()
        t = time.time() - a.since
        if a.pid:
            peak = max(peak, rss_kb(a.pid))
        if t_first is None and n > 0:
            t_first = t
        if t_low is None and n >= low:
            t_low, c_low = t, n
        if t_high is None and n >= high:
            t_high, c_high = t, n
        if n >= a.until or t > a.timeout:
            break
        time.sleep(0.01)
    out = {"count": n, "seconds": round(t, 3), "complete": n >= a.until,
           "first_s": None if t_first is None else round(t_first, 3),
           "rate_all": round(n / t, 1) if t > 0 else None, "peak_rss_kb": peak}
    if t_low is not None and t_high is not None and t_high > t_low:
        out["rate_mid"] = round((c_high - c_low) / (t_high - t_low), 1)
    else:
        out["rate_mid"] = out["rate_all"]
    print(json.dumps(out))


# ---------------------------------------------------------------- rendering


def fmt_rate(v):
    if v is None or v == "":
        return "–"
    v = float(v)
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def fmt_ms(v):
    if v is None or v == "":
        return "–"
    v = float(v)
    return f"{v:.2f}" if v < 100 else f"{v:,.0f}"


def fmt_ratio(v, base):
    try:
        v, base = float(v), float(base)
    except (TypeError, ValueError):
        return "–"
    if base <= 0:
        return "–"
    return f"{v / base:.2f}×"


def fmt_mb(kb):
    if kb in (None, "", 0):
        return "–"
    return f"{float(kb) / 1024:.1f}"


def load_summary(work, name):
    s = load_json(os.path.join(work, name + ".json"))
    if not s:
        return None
    lat = s.get("latency_us", {})
    return {
        "rps": s.get("throughput_rps"),
        "eps": s.get("events_per_s"),
        "p50": lat.get("p50", 0) / 1000,
        "p99": lat.get("p99", 0) / 1000,
        "requests": s.get("requests"),
        "statuses": s.get("statuses", {}),
        "errors": s.get("errors_total", 0),
    }


def status_note(s):
    parts = [f"{k}: {v}" for k, v in sorted(s["statuses"].items())]
    if s["errors"]:
        parts.append(f"errors: {s['errors']}")
    return ", ".join(parts)


def render(work, out_path):
    r = load_json(os.path.join(work, "results.json"), {})
    g = r.get
    lines = []
    add = lines.append
    add("# hookd bench results")
    add("")
    add(f"Written by `bench/run{' --quick' if g('quick') else ''}` on {g('date', '?')} "
        f"in {g('elapsed_s', '?')} s (Release build in `build-bench/`"
        f"{', build took ' + str(g('build_s')) + ' s' if g('build_s') else ''}). "
        "Everything ran on 127.0.0.1 on this one machine at the same time as its "
        "load generator, so absolute figures are modest; the ratios are the point.")
    add("")
    add("## Machine")
    add("")
    add("| cores | CPU | kernel | memory | data dir filesystem |")
    add("|---|---|---|---|---|")
    add(f"| {g('cores', '?')} | {g('cpu', '?')} | {g('kernel', '?')} | {g('memory', '?')} "
        f"| {g('fs', '?')} |")
    add("")
    add("## Versions")
    add("")
    add("| hookd | nginx | webhook | OpenSSL | compiler | Boost |")
    add("|---|---|---|---|---|---|")
    add(f"| {g('v_hookd', '?')} | {g('v_nginx', '?')} | {g('v_webhook', '?')} "
        f"| {g('v_openssl', '?')} | {g('v_compiler', '?')} | {g('v_boost', '?')} |")
    add("")
    add("## Results")
    add("")
    add("| # | measurement | throughput | p50 ms | p99 ms | ratio | notes |")
    add("|---|---|---|---|---|---|---|")

    # 1. Ingest
    nginx = load_summary(work, "ingest-nginx")
    base = nginx["rps"] if nginx else None
    for name, label in (("ingest-nginx", "nginx, fixed 202 (peer)"),
                        ("ingest-batch", "hookd `--fsync batch`"),
                        ("ingest-always", "hookd `--fsync always`")):
        s = load_summary(work, name)
        if not s:
            add(f"| 1 ingest | {label} | not measured | | | | {g(name + '_skipped', '')} |")
            continue
        add(f"| 1 ingest | {label} | {fmt_rate(s['rps'])} req/s | {fmt_ms(s['p50'])} "
            f"| {fmt_ms(s['p99'])} | {fmt_ratio(s['rps'], base)} of nginx "
            f"| {status_note(s)} |")
    half = load_summary(work, "ingest-batch-half")
    if half:
        server, fsync = g("ingest_half_server") or {}, g("ingest_half_fsync") or {}
        commit = g("ingest_half_commit") or {}
        inside = ""
        if server.get("count"):
            inside = (f"; inside hookd: request to answer p50/p99 {server.get('p50_ms')}/"
                      f"{server.get('p99_ms')} ms, fdatasync p50/p99 {fsync.get('p50_ms')}/"
                      f"{fsync.get('p99_ms')} ms")
        if commit.get("count"):
            inside += (f", group commit p50/p99 {commit.get('p50_ms')}/"
                       f"{commit.get('p99_ms')} ms")
        add(f"| 1 ingest | hookd `--fsync batch`, open loop at half its rate | "
            f"{fmt_rate(half['rps'])} req/s | {fmt_ms(half['p50'])} | {fmt_ms(half['p99'])} | "
            f"| offered {g('ingest_half_rate', '?')} req/s; {status_note(half)}{inside}; "
            f"load average {g('ingest_half_load', '?')} |")
    probe = g("ingest_fsync_probe") or {}
    if probe.get("count"):
        add(f"| 1 ingest | the disk alone: fdatasync after a 700-byte append, just before | "
            f"{probe['count']} syncs | {probe['p50_ms']} | {probe['p99_ms']} | "
            f"| max {probe['max_ms']} ms; in the data dir's filesystem |")
    nginx_half = load_summary(work, "ingest-nginx-half")
    if nginx_half:
        add(f"| 1 ingest | nginx, same open loop (peer) | "
            f"{fmt_rate(nginx_half['rps'])} req/s | {fmt_ms(nginx_half['p50'])} "
            f"| {fmt_ms(nginx_half['p99'])} | "
            f"| offered {g('ingest_half_rate', '?')} req/s; {status_note(nginx_half)} |")

    # 2. Hooks
    base = g("hooks_webhook_rps")
    spawn_rps = g("hooks_hookd_spawn_rps")
    for key, label in (("hooks_webhook", "adnanh/webhook, default (async, unbounded) (peer)"),
                       ("hooks_webhook_sync", "adnanh/webhook, synchronous, same concurrency as hookd"),
                       ("hooks_hookd_spawn", "hookd `--hook-executor spawn`"),
                       ("hooks_hookd_prewarm", "hookd `--hook-executor prewarm`")):
        rps = g(key + "_rps")
        if rps in (None, ""):
            add(f"| 2 hooks | {label} | not measured | | | | {g(key + '_skipped', '')} |")
            continue
        notes = [f"{g(key + '_runs', '?')} runs in {g(key + '_seconds', '?')} s, counted from "
                 f"the script's output file"]
        if g(key + "_cpu_self_ms") not in (None, ""):
            who = "hookd" if "hookd" in key else "webhook"
            zygote = g(key + "_cpu_zygote_ms")
            notes.append(f"CPU per run: {who} {fmt_ms(g(key + '_cpu_self_ms'))} ms"
                         + (f", its zygote {fmt_ms(zygote)} ms" if zygote not in (None, "") else "")
                         + f", everything (with the hook processes) "
                         f"{fmt_ms(g(key + '_cpu_all_ms'))} ms")
        if g(key + "_zygote_rss_kb") not in (None, ""):
            notes.append(f"zygote RSS {fmt_mb(g(key + '_zygote_rss_kb'))} MiB")
        if g(key + "_executors") not in (None, ""):
            notes.append(g(key + "_executors"))
        if key == "hooks_hookd_prewarm":
            notes.append(f"{fmt_ratio(rps, spawn_rps)} of spawn")
        if g(key + "_latency_note") not in (None, ""):
            notes.append(g(key + "_latency_note"))
        notes.append(g(key + "_note", ""))
        add(f"| 2 hooks | {label} | {fmt_rate(rps)} runs/s | {fmt_ms(g(key + '_p50_ms'))} "
            f"| {fmt_ms(g(key + '_p99_ms'))} | {fmt_ratio(rps, base)} of webhook "
            f"| {'; '.join(n for n in notes if n)} |")

    # 3. Delivery
    for fmt in ("webhook", "ndjson"):
        direct = load_summary(work, f"direct-{fmt}")
        base = direct["eps"] if direct else None
        eps = g(f"delivery_{fmt}_eps")
        if eps in (None, ""):
            add(f"| 3 delivery | hookd -> sink, `{fmt}` | not measured | | | | "
                f"{g(f'delivery_{fmt}_skipped', '')} |")
        else:
            add(f"| 3 delivery | hookd -> sink over TLS, `{fmt}` | {fmt_rate(eps)} events/s "
                f"| {fmt_ms(g(f'delivery_{fmt}_p50_ms'))} | {fmt_ms(g(f'delivery_{fmt}_p99_ms'))} "
                f"| {fmt_ratio(eps, base)} of direct | {g(f'delivery_{fmt}_note', '')} |")
        if direct:
            add(f"| 3 delivery | hookd-load -> sink directly, `{fmt}` (peer) "
                f"| {fmt_rate(direct['eps'])} events/s | {fmt_ms(direct['p50'])} "
                f"| {fmt_ms(direct['p99'])} | 1.00× | request latency; {status_note(direct)}; "
                f"{g(f'direct_{fmt}_note', '')} |")

    # 4. Svix API
    events = load_summary(work, "svix-events")
    create = load_summary(work, "svix-create")
    base = events["rps"] if events else None
    if create:
        add(f"| 4 svix | message create, `POST /api/v1/app/{{app}}/msg` (SDK headers) "
            f"| {fmt_rate(create['rps'])} req/s | {fmt_ms(create['p50'])} | {fmt_ms(create['p99'])} "
            f"| {fmt_ratio(create['rps'], base)} of /v1/events | {status_note(create)}; "
            f"load average {g('svix_load', '?')} |")
    else:
        add("| 4 svix | message create through the API | not measured | | | | |")
    if events:
        add(f"| 4 svix | `POST /v1/events`, same hookd and journal (peer) | {fmt_rate(events['rps'])} req/s "
            f"| {fmt_ms(events['p50'])} | {fmt_ms(events['p99'])} | 1.00× | {status_note(events)} |")
    eps = g("svix_e2e_eps")
    if eps in (None, ""):
        add(f"| 4 svix | end to end, SDK creates -> signed TLS delivery | not measured | | | | "
            f"{g('svix_e2e_skipped', '')} |")
    else:
        add(f"| 4 svix | end to end, SDK-pattern creates -> signed delivery over TLS "
            f"| {fmt_rate(eps)} messages/s | {fmt_ms(g('svix_e2e_p50_ms'))} "
            f"| {fmt_ms(g('svix_e2e_p99_ms'))} | | create-to-delivery latency; {g('svix_e2e_note', '')} |")

    # Micro-benchmarks
    for bench in ("core_bench", "journal_bench"):
        data = load_json(os.path.join(work, f"micro-{bench}.json"))
        if not data:
            add(f"| micro | `{bench}` | not run | | | | {g(bench + '_skipped', '')} |")
            continue
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate":
                continue
            per = f"{b.get('real_time', 0):,.0f} {b.get('time_unit', 'ns')}/op"
            ips = b.get("items_per_second")
            bps = b.get("bytes_per_second")
            tp = f"{fmt_rate(ips)} items/s" if ips else (f"{bps / 1e6:,.0f} MB/s" if bps else "")
            add(f"| micro | `{bench}` {b.get('name')} | {tp} | | | | {per} |")
    add("")

    # Several nodes on one Redis: bench/queue_run's table, as it wrote it.
    queue = read(os.path.join(work, "queue.md"))
    add("## Several nodes on one Redis (`--queue`)")
    add("")
    if queue:
        for line in queue.splitlines()[1:]:  # its own title is the heading here
            add(line)
    else:
        add(f"Not measured. {g('queue_skipped', '')}")
    add("")
    add("## Memory (hookd RSS, MiB, from /proc/PID/status VmRSS)")
    add("")
    add("| hookd instance | idle | peak under load | after the load |")
    add("|---|---|---|---|")
    for key, label in (("ingest-batch", "ingest, `--fsync batch`"),
                       ("ingest-always", "ingest, `--fsync always`"),
                       ("hooks-spawn", "hooks, `--hook-executor spawn`"),
                       ("hooks-prewarm", "hooks, `--hook-executor prewarm` (hookd alone)"),
                       ("delivery-webhook", "delivery, `webhook` format"),
                       ("delivery-ndjson", "delivery, `ndjson` format")):
        if g(f"rss_{key}_idle") in (None, ""):
            continue
        add(f"| {label} | {fmt_mb(g(f'rss_{key}_idle'))} | {fmt_mb(g(f'rss_{key}_peak'))} "
            f"| {fmt_mb(g(f'rss_{key}_after'))} |")
    add("")
    add("## How each figure is made")
    add("")
    for note in read(os.path.join(work, "notes.txt")).splitlines():
        add(f"- {note}")
    add("")
    with open(out_path, "w") as f:
        f.write("\n".join(lines))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "free-port":
        print(free_port())
    elif cmd == "put":
        put(args[0], args[1], args[2])
    elif cmd == "get":
        v = get(args[0], args[1])
        print(json.dumps(v) if isinstance(v, (dict, list)) else v)
    elif cmd == "prom-hist":
        b = histogram(read(args[0]), args[1], parse_filters(args[2:]))
        print(json.dumps({str(k): v for k, v in sorted(b.items())}))
    elif cmd == "quantiles":
        print(json.dumps(quantiles(args[0], args[1], args[2], parse_filters(args[3:]))))
    elif cmd == "fsync-probe":
        print(json.dumps(fsync_probe(args[0], int(args[1]))))
    elif cmd == "watch":
        watch(args)
    elif cmd == "cpu":
        print(json.dumps(cpu(args)))
    elif cmd == "metric":
        v = metric(read(args[0]), args[1])
        print("" if v is None else v)
    elif cmd == "render":
        render(args[0], args[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
