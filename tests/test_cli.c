/*
 * test_cli.c - the veclite CLI contract: exit codes, --help everywhere,
 * --json shapes (parsed by Python's json module, independent of ours), and
 * export -> load round trips that keep every float32 bit and every field.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tstore.h"

static char *dir;
static void setup(void) { dir = ts_tmpdir("cli"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(cli, .init = setup, .fini = teardown);

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return ts_run(cmd, out);
}

Test(cli, help_and_exit_codes)
{
	const char *cmds[] = { "create", "load", "put", "get", "delete", "search", "export",
	                       "info", "list", "drop", "flush", "compact", "verify" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *out;
		cr_assert_eq(run(&out, "%s %s --help", ts_cli(), cmds[i]), 0, "%s --help", cmds[i]);
		cr_assert(strstr(out, "usage: veclite"), "%s --help prints usage", cmds[i]);
		free(out);
		cr_assert_eq(run(NULL, "%s %s --no-such-option 2>/dev/null", ts_cli(), cmds[i]), 2, "%s bad option", cmds[i]);
	}
	cr_assert_eq(run(NULL, "%s 2>/dev/null", ts_cli()), 2);
	cr_assert_eq(run(NULL, "%s frobnicate 2>/dev/null", ts_cli()), 2);
	cr_assert_eq(run(NULL, "%s --help >/dev/null", ts_cli()), 0);
	cr_assert_eq(run(NULL, "%s create %s/s 2>/dev/null", ts_cli(), dir), 2, "missing --dim is a usage error");
	cr_assert_eq(run(NULL, "%s create %s/s --dim 0 2>/dev/null", ts_cli(), dir), 2);
	cr_assert_eq(run(NULL, "%s info %s/missing 2>/dev/null", ts_cli(), dir), 1, "a failed operation exits 1");
	cr_assert_eq(run(NULL, "%s create %s/s --dim 3 --metric manhattan 2>/dev/null", ts_cli(), dir), 2);
}

static const char *py = "/usr/bin/python3";

Test(cli, search_json_shape)
{
	char *out;
	cr_assert_eq(run(NULL, "%s create %s/s --dim 3 --field g:tag >/dev/null", ts_cli(), dir), 0);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(run(NULL, "%s put %s/s k%d --vector '[%d, 1, 0]' --field g=%s", ts_cli(), dir, i, i,
		                 i % 2 ? "odd" : "even"), 0);
	cr_assert_eq(run(&out,
	                 "%s search %s/s --vector '[3.2, 1, 0]' -k 3 --json --filter \"g == 'odd'\" --return g | "
	                 "%s -c 'import json,sys; l=[json.loads(x) for x in sys.stdin]; r=l[0][\"results\"]; "
	                 "print(len(l), l[0][\"query\"], [x[\"key\"] for x in r], [x[\"fields\"][\"g\"] for x in r], "
	                 "round(r[0][\"distance\"], 4))'",
	                 ts_cli(), dir, py),
	             0);
	cr_assert_str_eq(out, "1 0 ['k3', 'k5', 'k1'] ['odd', 'odd', 'odd'] 0.04\n");
	free(out);
	/* --queries: one JSON line per query */
	cr_assert_eq(run(NULL, "%s -c \"import numpy as n; a=n.array([[0,1,0],[19,1,0]],'<f4'); "
	                       "f=open('%s/q.fvecs','wb'); [ (n.array([3],'<i4').tofile(f), r.tofile(f)) for r in a]\"",
	                 py, dir), 0);
	cr_assert_eq(run(&out, "%s search %s/s --queries %s/q.fvecs -k 1 --json | %s -c 'import json,sys; "
	                       "print([(j[\"query\"], j[\"results\"][0][\"key\"]) for j in map(json.loads, sys.stdin)])'",
	                 ts_cli(), dir, dir, py), 0);
	cr_assert_str_eq(out, "[(0, 'k0'), (1, 'k19')]\n");
	free(out);
}

Test(cli, export_load_round_trip_is_bit_exact)
{
	char *out;
	/* rows written by Python: awkward floats, a non-UTF-8 key, binary and
	 * unicode field values, numbers in their own notation, rows without keys */
	const char *gen =
		"import json, struct, random, base64, sys\n"
		"random.seed(7)\n"
		"def f32(x): return struct.unpack('<f', struct.pack('<f', x))[0]\n"
		"rows = []\n"
		"specials = [0.0, -0.0, 1e-45, 3.4028234663852886e38, 1.1754943508222875e-38, 0.1, 1/3]\n"
		"for i in range(40):\n"
		"    v = [f32(random.uniform(-1e6, 1e6) * 10 ** random.randint(-30, 0)) for _ in range(5)]\n"
		"    if i < len(specials): v[0] = f32(specials[i])\n"
		"    r = {'vector': v, 'fields': {'n': 1.5e3 if i % 2 else i, 'tags': ['x', 'y\\u00e9'], 'txt': 'l\\u00f6ng ' * i}}\n"
		"    if i % 5: r['key'] = 'doc:%d' % i\n"
		"    if i == 3: r.pop('key', None); r['key_base64'] = base64.b64encode(b'\\xff\\xfe\\x00k').decode()\n"
		"    if i == 4: r['fields']['txt'] = {'base64': base64.b64encode(b'\\x80\\x81bin').decode()}\n"
		"    rows.append(r)\n"
		"open(sys.argv[1] + '/in.jsonl', 'w').write(''.join(json.dumps(r) + '\\n' for r in rows))\n";
	char path[1200];
	snprintf(path, sizeof path, "%s/gen.py", dir);
	FILE *fp = fopen(path, "w");
	fputs(gen, fp);
	fclose(fp);
	cr_assert_eq(run(NULL, "%s %s %s", py, path, dir), 0);
	cr_assert_eq(run(NULL, "%s create %s/s --dim 5 --field n:numeric --field tags:tag --field txt:text >/dev/null",
	                 ts_cli(), dir), 0);
	cr_assert_eq(run(&out, "%s load %s/s %s/in.jsonl 2>&1", ts_cli(), dir, dir), 0);
	free(out);
	cr_assert_eq(run(NULL, "%s flush %s/s >/dev/null", ts_cli(), dir), 0);
	cr_assert_eq(run(NULL, "%s export %s/s --out %s/out.jsonl", ts_cli(), dir, dir), 0);
	/* compare with Python: same keys, bit-identical float32 vectors, same fields */
	const char *cmp =
		"import json, struct, base64, sys\n"
		"def key(r, i): return base64.b64decode(r['key_base64']) if 'key_base64' in r else r.get('key', str(i)).encode()\n"
		"def bits(v): return [struct.pack('<f', x) for x in v]\n"
		"def val(x): return base64.b64decode(x['base64']) if isinstance(x, dict) else (','.join(x) if isinstance(x, list) else x)\n"
		"a = {key(r, i): r for i, r in enumerate(map(json.loads, open(sys.argv[1] + '/in.jsonl')))}\n"
		"b = {key(r, i): r for i, r in enumerate(map(json.loads, open(sys.argv[1] + '/out.jsonl')))}\n"
		"assert a.keys() == b.keys(), (sorted(a) , sorted(b))\n"
		"for k in a:\n"
		"    assert bits(a[k]['vector']) == bits(b[k]['vector']), k\n"
		"    fa = {n: val(v) for n, v in a[k]['fields'].items()}\n"
		"    fb = {n: val(v) for n, v in b[k]['fields'].items()}\n"
		"    fb = {n: (v.encode() if isinstance(v, str) and isinstance(fa.get(n), bytes) else v) for n, v in fb.items()}\n"
		"    assert fa == fb, (k, fa, fb)\n"
		"print('ok', len(a))\n";
	snprintf(path, sizeof path, "%s/cmp.py", dir);
	fp = fopen(path, "w");
	fputs(cmp, fp);
	fclose(fp);
	cr_assert_eq(run(&out, "%s %s %s 2>&1", py, path, dir), 0, "%s", out);
	cr_assert_str_eq(out, "ok 40\n");
	free(out);
	/* the export loads back into a fresh store and exports identically */
	cr_assert_eq(run(NULL, "%s create %s/t --dim 5 --field n:numeric --field tags:tag --field txt:text >/dev/null",
	                 ts_cli(), dir), 0);
	cr_assert_eq(run(NULL, "%s load %s/t %s/out.jsonl >/dev/null && %s export %s/t --out %s/out2.jsonl && cmp %s/out.jsonl %s/out2.jsonl",
	                 ts_cli(), dir, dir, ts_cli(), dir, dir, dir, dir), 0);
	/* rows without a key got their row number */
	cr_assert_eq(run(&out, "%s get %s/s 5 --json", ts_cli(), dir), 0);
	cr_assert(strstr(out, "\"key\":\"5\""), "%s", out);
	free(out);
}

Test(cli, info_json_and_verify)
{
	char *out;
	cr_assert_eq(run(NULL, "%s create %s/s --dim 4 -c docs --field a:tag >/dev/null", ts_cli(), dir), 0);
	cr_assert_eq(run(NULL, "%s put %s/s -c docs x --vector '[1,2,3,4]' --field a=b", ts_cli(), dir), 0);
	cr_assert_eq(run(NULL, "%s flush %s/s -c docs >/dev/null", ts_cli(), dir), 0);
	cr_assert_eq(run(&out, "%s info %s/s --json | %s -c 'import json,sys; d=json.load(sys.stdin); c=d[\"collections\"][0]; "
	                       "print(c[\"name\"], c[\"dim\"], c[\"rows\"], c[\"segments\"], c[\"fields\"], "
	                       "float(c[\"sections\"][\"vectors\"][\"bytes_per_vector\"]))'",
	                 ts_cli(), dir, py), 0);
	cr_assert_str_eq(out, "docs 4 1 1 {'a': 'tag'} 16.0\n");
	free(out);
	cr_assert_eq(run(&out, "%s verify %s/s --json", ts_cli(), dir), 0);
	cr_assert(strstr(out, "\"ok\": true"), "%s", out);
	free(out);
	cr_assert_eq(run(NULL, "%s get %s/s -c docs nothere 2>/dev/null", ts_cli(), dir), 1);
	cr_assert_eq(run(&out, "%s delete %s/s -c docs x nothere --json", ts_cli(), dir), 0);
	cr_assert_str_eq(out, "{\"deleted\": 1}\n");
	free(out);
}

Test(cli, export_faiss_loads_in_faiss_and_round_trips)
{
	char *out;
	cr_assert_eq(run(NULL, "%s create %s/s --dim 4 --metric ip >/dev/null", ts_cli(), dir), 0);
	for (int i = 0; i < 30; i++)
		cr_assert_eq(run(NULL, "%s put %s/s --vector '[%d, %d, 1, 0.5]' -- %lld", ts_cli(), dir, i, 30 - i,
		                 (long long)i * 1000000007LL - 5), 0);
	cr_assert_eq(run(NULL, "%s flush %s/s >/dev/null && %s export %s/s --format faiss --out %s/x.faiss >/dev/null",
	                 ts_cli(), dir, ts_cli(), dir, dir), 0);
	/* real FAISS reads it and its exact search agrees with veclite's */
	cr_assert_eq(run(&out, "%s -c \"import faiss, numpy as n; ix = faiss.read_index('%s/x.faiss'); "
	                       "D, I = ix.search(n.array([[3, 1, 0, 0]], 'float32'), 3); "
	                       "print(type(ix).__name__, ix.ntotal, list(I[0]))\"",
	                 py, dir), 0);
	char *vl;
	cr_assert_eq(run(&vl, "%s search %s/s --vector '[3, 1, 0, 0]' -k 3 --json | %s -c 'import json,sys; "
	                      "print([int(h[\"key\"]) for h in json.load(sys.stdin)[\"results\"]])'",
	                 ts_cli(), dir, py), 0);
	char want[256];
	snprintf(want, sizeof want, "IndexIDMap2 30 %s", vl);
	cr_assert_str_eq(out, want);
	free(out);
	free(vl);
	/* and imports back bit for bit */
	cr_assert_eq(run(NULL, "%s import-faiss %s/x.faiss %s/t >/dev/null && %s export %s/s > %s/a.jsonl && "
	                       "%s export %s/t > %s/b.jsonl && cmp %s/a.jsonl %s/b.jsonl",
	                 ts_cli(), dir, dir, ts_cli(), dir, dir, ts_cli(), dir, dir, dir, dir), 0);
	/* keys that are not integers are refused with a clear message */
	cr_assert_eq(run(NULL, "%s put %s/s doc --vector '[1,1,1,1]'", ts_cli(), dir), 0);
	cr_assert_eq(run(&out, "%s export %s/s --format faiss --out %s/y.faiss 2>&1", ts_cli(), dir, dir), 1);
	cr_assert(strstr(out, "not a decimal 64-bit integer"), "%s", out);
	free(out);
}
