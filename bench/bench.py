#!/usr/bin/env python3
"""Helpers for bench/run.sh: the parts that are clearer in Python than in bash (JSON, HMAC, parsing tool output).

Subcommands (each prints its answer on stdout):
  record ROWS SECTION NAME UNIT VALUE BASELINE TARGET [NOTE]   append one measured row (TARGET like "value<=80",
                                                              "ratio<=1.15", "value>=2000" or "-")
  report ROWS OUT QUICK LOAD_BEFORE LOAD_AFTER RUN WORK PANELS...   write the JSON file OUT, print the Markdown table
                                                              (RUN, WORK, PANELS: what the run created, for the smoke
                                                              test to check it is all gone afterwards)
  push SECRET URL REF SHA [DELIVERY]                          send one signed GitHub push, print the answer's body
  push-file SECRET REF SHA FILE                               write a push's body to FILE, print its signature
  pushes SECRET PATH FILE COUNT                               write COUNT signed pushes for bench/webhooks.lua
  wrk FILE                                                    requests/s, p99 ms and non-2xx count from `wrk --latency`
  hey FILE                                                    p99 ms, answers and failed requests from `hey`
  cookie JAR                                                  the Cookie header value from a curl cookie jar
  token HTML                                                  the antiforgery token of a page
  median N...                                                 the median of the numbers
"""
import hashlib, hmac, json, os, platform, re, statistics, subprocess, sys, urllib.request, uuid

SECTIONS = ["deploy", "build", "load", "memory", "startup", "pages", "webhooks", "binary"]
TITLES = {
    "deploy": "1. Deploy overhead (push webhook to new version served through Caddy; baseline: the same steps by hand)",
    "build": "2. Real build (two-stage Dockerfile on a local Debian image; baseline: DOCKER_BUILDKIT=1 docker build)",
    "load": "3. Redeploy under load (constant rate through Caddy; baseline: same load, no redeploy)",
    "memory": "4. Memory (baseline: an empty ASP.NET Core app published the same way)",
    "startup": "5. Startup to the first 200 on /healthz (baseline: the empty app)",
    "pages": "6. Pages and API at 64 connections (baseline: a static text file of the same process)",
    "webhooks": "7. Webhook ingestion (signed GitHub pushes; baseline: a static text file of the same process)",
    "binary": "8. Binary size (baseline: the empty app)",
}


def num(s):
    return None if s in ("", "-", "null", None) else float(s)


def record(rows, section, name, unit, value, baseline, target, note=""):
    v, b = num(value), num(baseline)
    ratio = round(v / b, 3) if v is not None and b not in (None, 0) else None
    met = None
    if target != "-":
        m = re.fullmatch(r"(value|ratio)(<=|>=|==)(-?[0-9.]+)", target)
        if not m:
            sys.exit(f"bad target {target!r}")
        x = v if m[1] == "value" else ratio
        lim = float(m[3])
        met = None if x is None else {"<=": x <= lim, ">=": x >= lim, "==": x == lim}[m[2]]
    with open(rows, "a") as f:
        f.write(json.dumps({"section": section, "name": name, "unit": unit, "value": v, "baseline": b, "ratio": ratio,
                            "target": None if target == "-" else target, "met": met, "note": note or None}) + "\n")


def fmt(x):
    if x is None:
        return "–"
    if x == int(x) and abs(x) >= 1 or x == 0:
        return f"{x:.0f}"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"


def report(rows, out, quick, load_before, load_after, run, work, *panels):
    measured = [json.loads(line) for line in open(rows)]
    machine = {
        "cores": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine()),
        "memory_mb": int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) // 1024,
        "kernel": platform.release(),
        "docker": subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout.strip(),
        "caddy": subprocess.run(["caddy", "version"], capture_output=True, text=True).stdout.split(" ")[0].strip(),
        "load_before": float(load_before), "load_after": float(load_after),
    }
    import datetime
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": quick == "1",
           "machine": machine, "run": run, "work": work, "panels": list(panels), "sections": {s: [r for r in measured if r["section"] == s] for s in SECTIONS}}
    for r in doc["sections"].values():
        for x in r:
            del x["section"]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"{doc['date']}, {machine['cores']} cores ({machine['cpu']}), {machine['memory_mb']} MB, Docker {machine['docker']}, "
          f"Caddy {machine['caddy']}; load average {machine['load_before']} before, {machine['load_after']} after"
          + (" (--quick: tiny sizes, not comparable)" if quick == "1" else ""))
    print()
    print("| measurement | value | baseline | ratio | target | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for s in SECTIONS:
        print(f"| **{TITLES[s]}** | | | | | |")
        for r in doc["sections"][s]:
            target = (r["target"] or "").replace("<=", " ≤ ").replace(">=", " ≥ ").replace("==", " = ")
            met = {True: "yes", False: "**no**", None: ""}[r["met"]]
            name = r["name"] + (f" ({r['note']})" if r["note"] else "")
            print(f"| {name} | {fmt(r['value'])} {r['unit']} | {fmt(r['baseline'])} {r['unit'] if r['baseline'] is not None else ''} | "
                  f"{fmt(r['ratio'])} | {target} | {met} |")
    print()
    print(f"JSON: {out}")


def push_body(ref, sha):
    return json.dumps({"ref": ref, "before": "0" * 40, "after": sha, "repository": {"full_name": "bench/app", "default_branch": "main"},
                       "head_commit": {"id": sha, "message": "bench", "author": {"name": "bench", "email": "bench@example.com"}},
                       "commits": [], "pusher": {"name": "bench"}}, separators=(",", ":"))


def signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def push(secret, url, ref, sha, delivery=None):
    body = push_body(ref, sha)
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(secret, body)})
    with urllib.request.urlopen(req, timeout=60) as r:
        print(r.read().decode())


def push_file(secret, ref, sha, file):
    """Writes one push's body to FILE and prints its signature: the timed request is then a plain curl."""
    body = push_body(ref, sha)
    with open(file, "w") as f:
        f.write(body)
    print(signature(secret, body))


def pushes(secret, path, file, count):
    """One line per push for bench/webhooks.lua: delivery id, signature, body (tab-separated); distinct commits."""
    with open(file, "w") as f:
        for i in range(int(count)):
            sha = hashlib.sha1(f"bench-push-{i}-{os.getpid()}".encode()).hexdigest()
            body = push_body("refs/heads/main", sha)
            f.write(f"{uuid.uuid4()}\t{signature(secret, body)}\t{body}\n")


def to_ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(file):
    text = open(file).read()
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)\s*$", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if not rps or not p99:
        sys.exit(f"cannot read wrk's output:\n{text}")
    bad = int(non2xx[1]) if non2xx else 0
    bad += sum(int(x) for x in errors.groups()) if errors else 0
    print(f"{float(rps[1]):.1f} {to_ms(p99[1], p99[2]):.2f} {bad}")


def hey(file):
    text = open(file).read()
    p99 = re.search(r"99%+ in ([0-9.]+) secs", text)
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)}
    errors = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\t", text.split("Error distribution:")[1], re.M)) if "Error distribution:" in text else 0
    if not p99:
        sys.exit(f"cannot read hey's output:\n{text}")
    ok = sum(n for c, n in codes.items() if 200 <= c < 400)
    failed = sum(n for c, n in codes.items() if not 200 <= c < 400) + errors
    print(f"{float(p99[1]) * 1000:.2f} {ok + failed} {failed}")


def cookie(jar):
    pairs = []
    for line in open(jar):
        line = line.strip()
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        elif not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 7:
            pairs.append(f"{parts[5]}={parts[6]}")
    print("; ".join(pairs))


def token(html):
    m = re.search(r'name="__RequestVerificationToken"[^>]*value="([^"]+)"', open(html).read())
    if not m:
        sys.exit("no antiforgery token on the page")
    print(m[1])


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "median":
        print(f"{statistics.median(float(a) for a in args):.4f}")
    else:
        {"record": record, "report": report, "push": push, "push-file": push_file, "pushes": pushes, "wrk": wrk, "hey": hey, "cookie": cookie,
         "token": token}[cmd](*args)


if __name__ == "__main__":
    main()
