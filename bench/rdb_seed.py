#!/usr/bin/python3
"""bench/rdb_seed.py - issue 6 "Done when": the seed-scale Redis dump, redis-server's own
load of it, and `veclite import-rdb` of it, measured in one run.

The dump is written by the real redis-server: ROWS hashes in LlamaIndex RedisVectorStore's
layout (key llama_index/vector_<uuid>; a 768-d float32 `embedding` plus about 2.4 KB of text:
`text`, `_node_content` JSON holding the text again with metadata, `doc_id`, `ref_doc_id`,
`document_id`, `id`, `_node_type`). The text uses a 20,000-word vocabulary so LZF compresses
it about as much as prose; the default 545,177 rows give an RDB of about 3 GB. It is cached in
bench/cache/rdb-seed2-<ROWS>/dump.rdb (never committed).

The vectors are independent random unit vectors unless --vectors FVECS names a file to take
them from (row r of the dump is row r of the file). Random unit vectors in 768 dimensions are
the worst case for a graph index (every point is nearly as far from a query as its nearest
neighbour: on 100K of them, stored as lvq4x4, a Vamana search at window 160 finds 58% of the
true top 10); text embeddings are clustered, which bench/gen_synth models (bench/run's
--dataset synth-545k writes bench/data/synth-545k/: gen_synth's rows and bench/gt's exact top
100 of its queries).
With --vectors the dump is cached in rdb-seed2-<ROWS>-<folder of FVECS>, and when that folder
has query.fvecs and gt.ivecs (bench/gt's exact top-k), the default-index import is also
searched with those queries: recall@10 and the time for them, at the collection's default
search window and at each of --windows (default 40,120).

Measured, each REPS times (medians reported), with the dump in the page cache for all:
  - redis-server loading the dump: seconds from exec until PING answers, RSS after load;
  - the RDB reader alone (bench/rdb_scan.c --decode), once, for reference;
  - `veclite import-rdb DUMP STORE --index flat` into a fresh store (the default storage type,
    and again with --storage float32): wall seconds, CPU seconds, MB/s, peak RSS (ru_maxrss of
    the child = VmHWM: anonymous + file-backed pages it mapped) and peak anonymous RSS
    (RssAnon polled every 50 ms);
  - `veclite import-rdb` with the default index (no --index), and with --index vamana unless
    --no-vamana: seconds until the store answers a search (import + one `veclite search`).
The load average before and after is printed; CPU seconds are less sensitive to a busy machine
than wall seconds.

  bench/rdb_seed.py [-n ROWS] [--reps N] [--regen] [--generate-only] [--veclite PATH]
                    [--vectors FVECS] [--windows W,...] [--no-flat] [--no-vamana] [--no-default] [--work DIR]
                    [--out FILE]
"""
import argparse, json, os, resource, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def redis_start(d, port):
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
           "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
           "--logfile", os.path.join(d, "redis.log")]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def redis_call(port, *args, timeout=3600):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    data = s.recv(65536)
    s.close()
    return data


def wait_ready(port, proc, limit=3600):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError("redis-server exited")
        try:
            if redis_call(port, "PING", timeout=5).startswith(b"+PONG"):
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("redis-server did not become ready")


def proc_status(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(b"\r\n")
    return b"".join(out)


def vocabulary(rng, n=20000):
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    p = np.array([12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4,
                  2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07])
    p /= p.sum()
    lens = rng.integers(2, 11, size=n)
    return ["".join(rng.choice(letters, size=l, p=p)) for l in lens]


DIM = 768


def fvecs_rows(path, n, dim=DIM):
    """The first n rows of an .fvecs file (each row: int32 dim, then dim float32), mapped."""
    a = np.memmap(path, dtype=np.float32, mode="r")
    if a.size % (dim + 1) or a.size // (dim + 1) < n:
        sys.exit("%s: expected at least %d rows of %d float32 values" % (path, n, dim))
    rows = a.reshape(-1, dim + 1)[:n]
    if int(rows[0, :1].view(np.int32)[0]) != dim:
        sys.exit("%s: rows are not %d-dimensional" % (path, dim))
    return rows[:, 1:]


def read_ivecs(path):
    a = np.fromfile(path, dtype=np.int32)
    k = int(a[0])
    return a.reshape(-1, k + 1)[:, 1:]


def gen_rows(n, text_bytes, pipe, vectors=None):
    rng = np.random.default_rng(42)
    vocab = np.array(vocabulary(rng))
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    chunk_len = text_bytes * 2 // 5          # `text`; _node_content holds it again + metadata
    batch = 2048
    for start in range(0, n, batch):
        m = min(batch, n - start)
        vecs = rng.standard_normal((m, 768), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        if vectors is not None:   # the draw above still runs: the texts stay the same
            vecs = np.ascontiguousarray(vectors[start:start + m], dtype=np.float32)
        widx = rng.choice(len(vocab), size=(m, chunk_len // 4), p=zipf)
        chunks = []
        for i in range(m):
            r = start + i
            uid = "%08x-%04x-4%03x-8%03x-%012x" % (r, r & 0xffff, r & 0xfff, (r * 7) & 0xfff,
                                                     r * 2654435761 & 0xffffffffffff)
            text = " ".join(vocab[widx[i]])[:chunk_len]
            doc = "src-%d" % (r % 5000)
            node = json.dumps({"id_": uid, "embedding": None,
                               "metadata": {"file_path": "/kb/docs/%s.md" % doc, "page": r % 40,
                                            "title": " ".join(vocab[widx[i][:8]])},
                               "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [],
                               "relationships": {"1": {"node_id": doc, "node_type": "4",
                                                       "metadata": {}, "hash": "%064x" % (r * 977)}},
                               "text": text, "start_char_idx": r % 10000,
                               "end_char_idx": r % 10000 + len(text),
                               "text_template": "{metadata_str}\n\n{content}",
                               "metadata_template": "{key}: {value}", "metadata_seperator": "\n",
                               "class_name": "TextNode"}).encode()
            chunks.append(resp([b"HSET", b"llama_index/vector_" + uid.encode(),
                                b"embedding", vecs[i].tobytes(),
                                b"text", text.encode(),
                                b"_node_content", node,
                                b"_node_type", b"TextNode",
                                b"doc_id", doc.encode(),
                                b"ref_doc_id", doc.encode(),
                                b"document_id", doc.encode(),
                                b"id", uid.encode()]))
        pipe.write(b"".join(chunks))


def make_dump(cache, n, text_bytes, vectors=None):
    port = free_port()
    proc = redis_start(cache, port)
    wait_ready(port, proc)
    t0 = time.monotonic()
    cli = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL)
    gen_rows(n, text_bytes, cli.stdin, vectors)
    cli.stdin.close()
    cli.wait()
    print("loaded %d hashes into redis in %.1f s (RSS %.0f MiB)" % (
        n, time.monotonic() - t0, proc_status(proc.pid, "VmRSS")), flush=True)
    t0 = time.monotonic()
    redis_call(port, "SAVE")
    print("SAVE: %.1f s" % (time.monotonic() - t0), flush=True)
    proc.kill()
    proc.wait()


def warm(path):
    subprocess.call(["sh", "-c", "cat '%s' > /dev/null" % path])


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Watch:
    """Peak RssAnon of a running process, polled."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0.0, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, proc_status(self.pid, "RssAnon"))
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        return self.peak


def run_measured(cmd):
    """Run cmd; return (wall s, cpu s, ru_maxrss MiB, peak RssAnon MiB, rc, stdout)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    w = Watch(p.pid)
    out_chunks = []
    reader = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()), daemon=True)
    reader.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    anon = w.done()
    reader.join()
    err = p.stderr.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        print("  FAILED (%d): %s" % (p.returncode, err.strip()), flush=True)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, anon, p.returncode, \
        b"".join(out_chunks).decode(errors="replace")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=545177)
    ap.add_argument("--text-bytes", type=int, default=2400)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--veclite", default=os.path.join(ROOT, "build", "veclite"))
    ap.add_argument("--no-vamana", action="store_true",
                    help="skip the extra explicit --index vamana import")
    ap.add_argument("--no-flat", action="store_true", help="skip the two --index flat imports")
    ap.add_argument("--no-default", action="store_true",
                    help="skip the default-index (vamana) import too: flat imports only")
    ap.add_argument("--generate-only", action="store_true", help="write the dump (if needed) and stop")
    ap.add_argument("--vectors", default=None, metavar="FVECS",
                    help="take the embeddings from this .fvecs file (768-d) instead of random unit vectors")
    ap.add_argument("--windows", default="40,120",
                    help="with --vectors: search windows measured besides the default (comma list)")
    ap.add_argument("--work", default=None, help="folder for the stores (default: a temp dir)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args()
    tag = "-" + os.path.basename(os.path.dirname(os.path.abspath(a.vectors))) if a.vectors else ""
    cache = os.path.join(ROOT, "bench", "cache", "rdb-seed2-%d%s" % (a.n, tag))
    queries = gt = None
    windows = [int(x) for x in a.windows.split(",") if x]
    if a.vectors:
        qd = os.path.dirname(os.path.abspath(a.vectors))
        whole = os.path.getsize(a.vectors) == a.n * (DIM + 1) * 4   # gt.ivecs is for the whole file
        if whole and os.path.exists(os.path.join(qd, "query.fvecs")) and os.path.exists(os.path.join(qd, "gt.ivecs")):
            queries, gt = os.path.join(qd, "query.fvecs"), read_ivecs(os.path.join(qd, "gt.ivecs"))
    os.makedirs(cache, exist_ok=True)
    dump = os.path.join(cache, "dump.rdb")
    scan = os.path.join(cache, "rdb_scan")
    srcs = [os.path.join(ROOT, "format", "rdb", f) for f in sorted(os.listdir(os.path.join(ROOT, "format", "rdb")))
            if f.endswith(".c")]
    subprocess.check_call(["cc", "-std=c11", "-O2", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "format"),
                           "-I" + os.path.join(ROOT, "engine"), "-I" + ROOT, "-o", scan,
                           os.path.join(ROOT, "bench", "rdb_scan.c"), os.path.join(ROOT, "format", "vl_diag.c")]
                          + srcs + ["-lm", "-pthread"])
    if a.regen or not os.path.exists(dump):
        make_dump(cache, a.n, a.text_bytes, fvecs_rows(a.vectors, a.n) if a.vectors else None)
    size = os.path.getsize(dump)
    if a.generate_only:
        print("dump: %s, %.2f GB (%.0f bytes/row)" % (dump, size / 1e9, size / a.n))
        return
    res = {"rows": a.n, "dump_bytes": size, "vectors": a.vectors or "random unit", "loadavg_before": loadavg(), "veclite": a.veclite}
    print("dump: %s, %.2f GB (%.0f bytes/row); load average %s; %d cores" % (
        dump, size / 1e9, size / a.n, res["loadavg_before"], os.cpu_count()), flush=True)

    # redis-server's own load
    loads, rss = [], []
    for i in range(a.reps):
        warm(dump)
        port = free_port()
        proc = redis_start(cache, port)
        loads.append(wait_ready(port, proc))
        rss.append(proc_status(proc.pid, "VmRSS"))
        proc.kill()
        proc.wait()
        print("  redis-server load #%d: %.1f s, RSS %.0f MiB" % (i + 1, loads[-1], rss[-1]), flush=True)
    res["redis_load_s"], res["redis_rss_mib"] = med(loads), med(rss)
    print("redis-server load: %.1f s (median of %d), RSS after load %.0f MiB" % (
        res["redis_load_s"], a.reps, res["redis_rss_mib"]), flush=True)

    warm(dump)
    out = subprocess.check_output([scan, dump, "--decode"]).decode().strip()
    print("rdb reader alone: %s" % out, flush=True)
    res["reader_alone"] = out

    work = a.work or tempfile.mkdtemp(prefix="vl-rdbseed-", dir=os.path.join(ROOT, "bench", "cache"))
    os.makedirs(work, exist_ok=True)
    query = "[" + ",".join(["0.036"] * 768) + "]"

    def recall_at_10(store, window):
        """Every query of the vectors' folder through `veclite search --queries`, at the
        collection's default search window (None) or SEARCH_WINDOW_SIZE=window:
        (recall@10, seconds for all of them)."""
        cmd = [a.veclite, "search", store, "--queries", queries, "-k", "10", "--json"]
        if window:
            cmd += ["--set", "SEARCH_WINDOW_SIZE=%d" % window]
        t0 = time.monotonic()
        out = subprocess.check_output(cmd)
        secs = time.monotonic() - t0
        hits = total = 0
        for line in out.decode().splitlines():
            q = json.loads(line)
            # keys are llama_index/vector_<row as 8 hex digits>-...
            got = {int(r["key"][len("llama_index/vector_"):][:8], 16) for r in q["results"]}
            want = set(int(x) for x in gt[q["query"]][:10])
            hits += len(got & want)
            total += 10
        return hits / total, secs

    def import_runs(label, extra, reps, search):
        rows = []
        for i in range(reps):
            store = os.path.join(work, "store-" + label)
            shutil.rmtree(store, ignore_errors=True)
            warm(dump)
            wall, cpu, maxrss, anon, rc, out = run_measured(
                [a.veclite, "import-rdb", dump, store, "--quiet", "--json"] + extra)
            if rc != 0:
                rows.append(None)
                break
            summ = json.loads(out)
            qs = 0.0
            if search:
                t0 = time.monotonic()
                subprocess.check_call([a.veclite, "search", store, "--vector", query, "-k", "10"],
                                      stdout=subprocess.DEVNULL)
                qs = time.monotonic() - t0
            rec = []
            if search and queries is not None:
                for win in [None] + windows:
                    rc10, rs = recall_at_10(store, win)
                    rec.append({"window": win or "default", "recall10": rc10, "seconds": rs})
            r = {"wall_s": wall, "cpu_s": cpu, "maxrss_mib": maxrss, "rss_anon_mib": anon,
                 "read_s": summ["read_seconds"], "commit_s": summ["commit_seconds"],
                 "imported": summ["imported"], "index": summ["index"], "search_s": qs,
                 "recall10": rec}
            rows.append(r)
            print("  %s #%d: %.1f s wall (read %.1f, commit %.1f), %.1f s CPU, %.0f MB/s, peak RSS %.0f MiB "
                  "(anon %.0f MiB), index %s%s" % (
                      label, i + 1, wall, r["read_s"], r["commit_s"], cpu, size / 1e6 / wall, maxrss, anon,
                      r["index"], ", first search %.2f s" % qs if search else ""), flush=True)
            for x in rec:
                print("    %d queries from %s, search window %s: recall@10 %.4f in %.2f s" % (
                    len(gt), queries, x["window"], x["recall10"], x["seconds"]), flush=True)
            shutil.rmtree(store, ignore_errors=True)
        ok = [r for r in rows if r]
        if not ok:
            return None
        m = {k: med([r[k] for r in ok]) for k in ("wall_s", "cpu_s", "maxrss_mib", "rss_anon_mib",
                                                    "read_s", "commit_s", "search_s")}
        m["index"] = ok[0]["index"]
        m["recall10"] = ok[0]["recall10"]
        m["imported"] = ok[0]["imported"]
        m["runs"] = len(ok)
        return m

    res["flat"] = res["flat_f32"] = None
    if not a.no_flat:
        res["flat"] = import_runs("flat", ["--index", "flat"], a.reps, False)
        res["flat_f32"] = import_runs("flat-f32", ["--index", "flat", "--storage", "float32"], a.reps, False)
    if not a.no_default:
        res["default"] = import_runs("default", [], a.reps, True)
    if not a.no_vamana:
        res["vamana"] = import_runs("vamana", ["--index", "vamana"], 1, True)
    res["loadavg_after"] = loadavg()

    print("\nsummary (medians; load average before %s, after %s):" % (res["loadavg_before"], res["loadavg_after"]))
    print("  redis-server load %.1f s, RSS %.0f MiB" % (res["redis_load_s"], res["redis_rss_mib"]))
    f = res["flat"]
    if f:
        print("  import-rdb --index flat: %.1f s wall, %.1f s CPU, %.0f MB/s, peak RSS %.0f MiB (anon %.0f MiB)"
              % (f["wall_s"], f["cpu_s"], size / 1e6 / f["wall_s"], f["maxrss_mib"], f["rss_anon_mib"]))
        print("    vs redis: %.2fx faster (target >= 10x); peak RSS %.1f%% of redis (anon %.1f%%; target < 10%%)"
              % (res["redis_load_s"] / f["wall_s"], 100 * f["maxrss_mib"] / res["redis_rss_mib"],
                 100 * f["rss_anon_mib"] / res["redis_rss_mib"]))
    elif not a.no_flat:
        print("  import-rdb --index flat: FAILED")
    g = res["flat_f32"]
    if g:
        print("  import-rdb --index flat --storage float32: %.1f s wall, %.1f s CPU, %.0f MB/s, peak RSS %.0f MiB "
              "(anon %.0f MiB); vs redis %.2fx, RSS %.1f%% (anon %.1f%%)"
              % (g["wall_s"], g["cpu_s"], size / 1e6 / g["wall_s"], g["maxrss_mib"], g["rss_anon_mib"],
                 res["redis_load_s"] / g["wall_s"], 100 * g["maxrss_mib"] / res["redis_rss_mib"],
                 100 * g["rss_anon_mib"] / res["redis_rss_mib"]))
    for k in ("default", "vamana"):
        m = res.get(k)
        if m:
            print("  import-rdb (%s, index %s): searchable after %.1f s (import %.1f s + first search %.2f s)%s"
                  % (k, m["index"], m["wall_s"] + m["search_s"], m["wall_s"], m["search_s"],
                     "".join("; recall@10 %.4f at window %s" % (x["recall10"], x["window"])
                             for x in m["recall10"])))
        elif k in res:
            print("  import-rdb (%s): FAILED" % k)
    if a.out:
        with open(a.out, "w") as fo:
            json.dump(res, fo, indent=1)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
