/*
 * test_rdb.c - the RDB reader against dumps written by the real redis-server
 * (started privately per test by tests/util/redis_fixture.c).
 *
 * Every value written through the RESP client is compared byte for byte
 * with what the reader delivers.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/crc64.h"
#include "rdb/rdb.h"
#include "rdb/rdb_inspect.h"
#include "util/rdb_collect.h"
#include "util/redis_fixture.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static float rnd_f32(void)
{
	return (float)((double)(rng() >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

/* A float32 vector blob; `sparse` leaves most components zero (compressible). */
static void make_vec32(uint8_t *out, size_t dim, int sparse)
{
	for (size_t i = 0; i < dim; i++) {
		float f = (sparse && (rng() % 8) != 0) ? 0.0f : rnd_f32();
		memcpy(out + 4 * i, &f, 4);
	}
}

static void make_text(char *out, size_t len)
{
	static const char *const words[] = { "vector ", "store ", "redis ", "migration ",
		                             "embedding ", "the ", "of ", "search " };
	size_t n = 0;
	while (n < len) {
		const char *w = words[rng() % 8];
		size_t l = strlen(w);
		if (l > len - n)
			l = len - n;
		memcpy(out + n, w, l);
		n += l;
	}
	out[len] = 0;
}

static void start(vl_redis *r, const char *const *extra)
{
	if (!vl_redis_available())
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(vl_redis_start(r, extra), 0, "redis start: %s", r->err);
}

static void cmd_ok(vl_redis *r, int argc, const void *const *argv, const size_t *lens)
{
	cr_assert_eq(vl_redis_cmdv(r, NULL, 0, argc, argv, lens), 0, "redis: %s", r->err);
}

static void save(vl_redis *r, uint8_t **buf, size_t *len)
{
	cr_assert_eq(vl_redis_save(r, buf, len), 0, "save: %s", r->err);
}

/* Parse `buf` several ways (whole, byte by byte, odd chunks, small window)
 * and check that every way gives the same events as the first. */
static void parse_all_ways(rc_dump *out, const uint8_t *buf, size_t len)
{
	cr_assert_eq(rc_parse(out, buf, len, 0, 0, 0), 0, "parse: %s", out->d.msg);
	static const size_t chunks[] = { 1, 7, 4093 };
	for (size_t c = 0; c < 3; c++) {
		rc_dump other;
		memset(&other, 0, sizeof other);
		/* byte-by-byte only on small dumps: it is slow by design */
		if (chunks[c] == 1 && len > 200000)
			continue;
		cr_assert_eq(rc_parse(&other, buf, len, chunks[c], 0, 4096), 0, "chunk %zu: %s",
		             chunks[c], other.d.msg);
		cr_assert_eq(other.n, out->n);
		for (size_t i = 0; i < out->n; i++) {
			cr_assert_eq(other.keys[i].nel, out->keys[i].nel);
			for (size_t j = 0; j < out->keys[i].nel; j++) {
				const rc_elem *x = &out->keys[i].el[j], *y = &other.keys[i].el[j];
				cr_assert_eq(x->a_len, y->a_len);
				cr_assert_eq(x->b_len, y->b_len);
				cr_assert(x->a_len == 0 || memcmp(x->a, y->a, x->a_len) == 0);
				cr_assert(x->b_len == 0 || memcmp(x->b, y->b, x->b_len) == 0);
			}
		}
		cr_assert_eq(other.res.crc_computed, out->res.crc_computed);
		rc_free(&other);
	}
}

static void check_bytes(const rc_elem *e, const void *want, size_t n, const char *what)
{
	cr_assert_not_null(e, "%s missing", what);
	const uint8_t *got = e->b ? e->b : e->a;
	const size_t got_len = e->b ? e->b_len : e->a_len;
	cr_assert_eq(got_len, n, "%s: %zu bytes, want %zu", what, got_len, n);
	cr_assert(memcmp(got, want, n) == 0, "%s differs", what);
}

/* CRC64 check value and Redis's own trailer (real dumps carry it). */
Test(rdb, crc64_jones)
{
	cr_assert_eq(vl_crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caull);
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t n = 0; n < sizeof buf; n += 37)
		cr_assert_eq(vl_crc64(0, buf, n), vl_crc64_bitwise(0, buf, n));
	uint64_t c = vl_crc64(0, buf, 300);
	cr_assert_eq(vl_crc64(c, buf + 300, 700), vl_crc64(0, buf, 1000));
}

Test(rdb, small_listpack_hashes)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 1;
	enum { N = 40, DIM = 4 };
	uint8_t vecs[N][DIM * 4];
	char keys[N][32], titles[N][32], nums[N][16];
	for (int i = 0; i < N; i++) {
		make_vec32(vecs[i], DIM, 0);
		snprintf(keys[i], 32, "doc:%d", i);
		snprintf(titles[i], 32, "title %d", i);
		snprintf(nums[i], 16, "%d", i * 3);
		const void *argv[] = { "HSET", keys[i], "vec", vecs[i], "title", titles[i], "n", nums[i] };
		const size_t lens[] = { 4, strlen(keys[i]), 3, DIM * 4, 5, strlen(titles[i]), 1,
			                strlen(nums[i]) };
		cmd_ok(&r, 8, argv, lens);
	}
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_write_seed("fuzz_rdb", "redis70-listpack-hashes.rdb", buf, len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	parse_all_ways(&d, buf, len);
	cr_assert_eq(d.res.version, 10);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_OK);
	cr_assert_eq(d.res.bytes, len);
	cr_assert_str_eq(rc_aux(&d, "redis-ver"), r.version);
	cr_assert_eq(d.n, N);
	for (int i = 0; i < N; i++) {
		rc_key *k = rc_find_s(&d, 0, keys[i]);
		cr_assert_not_null(k, "%s missing", keys[i]);
		cr_assert_eq(k->type, 16, "listpack hash expected, got type %d", k->type);
		cr_assert_eq(k->kind, VL_RDB_KIND_HASH);
		cr_assert_eq(k->nel, 3);
		cr_assert_eq(k->expire_ms, VL_RDB_NO_EXPIRE);
		check_bytes(rc_field(k, "vec"), vecs[i], DIM * 4, "vec");
		check_bytes(rc_field(k, "title"), titles[i], strlen(titles[i]), "title");
		/* small numbers are stored as listpack integers: given back as text */
		check_bytes(rc_field(k, "n"), nums[i], strlen(nums[i]), "n");
	}
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

/* 768-d vectors + long texts: hashtable encoding, strings LZF-compressed
 * (or not, with rdbcompression no). */
static void big_hashes(const char *const *extra, int expect_lzf)
{
	vl_redis r;
	start(&r, extra);
	cr_assert_eq(vl_redis_cmd(&r, "CONFIG", "SET", "hash-max-listpack-value", "64", NULL), 0);
	rng_state = 2;
	enum { N = 60, DIM = 768, TEXT = 2400 };
	static uint8_t vecs[N][DIM * 4];
	static char texts[N][TEXT + 1];
	char key[32];
	for (int i = 0; i < N; i++) {
		make_vec32(vecs[i], DIM, i % 2);
		make_text(texts[i], TEXT - (size_t)i);
		snprintf(key, sizeof key, "llama:doc:%d", i);
		const void *argv[] = { "HSET", key, "vector", vecs[i], "_node_content", texts[i], "doc_id",
			               key };
		const size_t lens[] = { 4, strlen(key), 6, DIM * 4, 13, strlen(texts[i]), 6, strlen(key) };
		cmd_ok(&r, 8, argv, lens);
	}
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	parse_all_ways(&d, buf, len);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_OK);
	cr_assert_eq(d.n, N);
	if (expect_lzf)
		cr_assert_gt(d.res.lzf_strings, (uint64_t)N, "LZF expected, saw %llu",
		             (unsigned long long)d.res.lzf_strings);
	else
		cr_assert_eq(d.res.lzf_strings, 0);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "llama:doc:%d", i);
		rc_key *k = rc_find_s(&d, 0, key);
		cr_assert_not_null(k);
		cr_assert_eq(k->type, 4, "hashtable hash expected, got type %d", k->type);
		check_bytes(rc_field(k, "vector"), vecs[i], DIM * 4, "vector");
		check_bytes(rc_field(k, "_node_content"), texts[i], strlen(texts[i]), "text");
		check_bytes(rc_field(k, "doc_id"), key, strlen(key), "doc_id");
		cr_assert_eq(k->info.elems, 3);
	}
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

Test(rdb, hashtable_768d_lzf)
{
	big_hashes(NULL, 1);
}

Test(rdb, rdbcompression_no)
{
	static const char *const extra[] = { "--rdbcompression", "no", NULL };
	big_hashes(extra, 0);
}

Test(rdb, rdbchecksum_no)
{
	static const char *const extra[] = { "--rdbchecksum", "no", NULL };
	vl_redis r;
	start(&r, extra);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "a", "b", NULL), 0);
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, buf, len, 0, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_DISABLED);
	cr_assert_eq(d.res.crc_stored, 0);
	cr_assert_eq(d.n, 1);
	check_bytes(&d.keys[0].el[0], "b", 1, "value");
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

Test(rdb, several_dbs)
{
	vl_redis r;
	start(&r, NULL);
	static const char *const dbs[] = { "0", "3", "15" };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(vl_redis_cmd(&r, "SELECT", dbs[i], NULL), 0);
		cr_assert_eq(vl_redis_cmd(&r, "SET", "k", dbs[i], NULL), 0);
		cr_assert_eq(vl_redis_cmd(&r, "HSET", "h", "db", dbs[i], NULL), 0);
	}
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, buf, len, 0, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.n, 6);
	for (int i = 0; i < 3; i++) {
		uint64_t db = (uint64_t)atoi(dbs[i]);
		rc_key *k = rc_find_s(&d, db, "k");
		cr_assert_not_null(k, "db %llu", (unsigned long long)db);
		check_bytes(&k->el[0], dbs[i], strlen(dbs[i]), "k");
		k = rc_find_s(&d, db, "h");
		cr_assert_not_null(k);
		check_bytes(rc_field(k, "db"), dbs[i], strlen(dbs[i]), "h.db");
	}
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

static int has_member(const rc_key *k, const char *m)
{
	for (size_t i = 0; i < k->nel; i++)
		if (k->el[i].a_len == strlen(m) && memcmp(k->el[i].a, m, k->el[i].a_len) == 0)
			return 1;
	return 0;
}

/* Every other type Redis 7.0 writes, decoded (and skipped in a second pass). */
Test(rdb, other_types)
{
	vl_redis r;
	start(&r, NULL);
	char v[64], s[64];
	cr_assert_eq(vl_redis_cmd(&r, "SET", "int", "12345", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "neg", "-7", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "big", "9876543210", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "RPUSH", "list", "a", "b", "42", NULL), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof v, "item-%d", i);
		cr_assert_eq(vl_redis_cmd(&r, "RPUSH", "biglist", v, NULL), 0);
	}
	cr_assert_eq(vl_redis_cmd(&r, "SADD", "iset", "3", "-2", "100000", "7", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "SADD", "sset", "x", "y", "z", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "ZADD", "zsmall", "1.5", "a", "-2", "b", "1e300", "c", NULL), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(v, sizeof v, "m%d", i);
		snprintf(s, sizeof s, "%d.25", i);
		cr_assert_eq(vl_redis_cmd(&r, "ZADD", "zbig", s, v, NULL), 0);
	}
	for (int i = 0; i < 5; i++)
		cr_assert_eq(vl_redis_cmd(&r, "XADD", "stream", "*", "f", "v", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "XGROUP", "CREATE", "stream", "g1", "0", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "XGROUP", "CREATE", "stream", "g2", "$", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS",
	                          "stream", ">", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS",
	                          "stream", ">", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "FUNCTION", "LOAD",
	                          "#!lua name=mylib\nredis.register_function('f', function() return 1 end)",
	                          NULL), 0);
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_write_seed("fuzz_rdb", "redis70-other-types.rdb", buf, len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	parse_all_ways(&d, buf, len);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_OK);
	cr_assert(strstr(d.function, "name=mylib") != NULL, "function: %s", d.function);

	rc_key *k = rc_find_s(&d, 0, "int");
	cr_assert_eq(k->type, 0);
	check_bytes(&k->el[0], "12345", 5, "int");
	check_bytes(&rc_find_s(&d, 0, "neg")->el[0], "-7", 2, "neg");
	check_bytes(&rc_find_s(&d, 0, "big")->el[0], "9876543210", 10, "big");

	k = rc_find_s(&d, 0, "list");
	cr_assert_eq(k->type, 18);
	cr_assert_eq(k->nel, 3);
	check_bytes(&k->el[0], "a", 1, "list[0]");
	check_bytes(&k->el[2], "42", 2, "list[2]");
	k = rc_find_s(&d, 0, "biglist");
	cr_assert_eq(k->nel, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof v, "item-%d", i);
		check_bytes(&k->el[i], v, strlen(v), "biglist");
	}
	k = rc_find_s(&d, 0, "iset");
	cr_assert_eq(k->type, 11);
	cr_assert_eq(k->nel, 4);
	check_bytes(&k->el[0], "-2", 2, "intset[0]");
	check_bytes(&k->el[3], "100000", 6, "intset[3]");
	k = rc_find_s(&d, 0, "sset");
	cr_assert_eq(k->type, 2);
	cr_assert(has_member(k, "x") && has_member(k, "y") && has_member(k, "z"));

	k = rc_find_s(&d, 0, "zsmall");
	cr_assert_eq(k->type, 17);
	cr_assert_eq(k->nel, 3);
	for (size_t i = 0; i < 3; i++) {
		double want = k->el[i].a[0] == 'a' ? 1.5 : k->el[i].a[0] == 'b' ? -2 : 1e300;
		cr_assert_eq(k->el[i].score, want);
	}
	k = rc_find_s(&d, 0, "zbig");
	cr_assert_eq(k->type, 5);
	cr_assert_eq(k->nel, 200);
	for (size_t i = 0; i < 200; i++) {
		int m = atoi((const char *)k->el[i].a + 1);
		cr_assert_eq(k->el[i].score, m + 0.25);
	}

	k = rc_find_s(&d, 0, "stream");
	cr_assert_eq(k->type, 19);
	cr_assert_eq(k->kind, VL_RDB_KIND_STREAM);
	cr_assert_eq(k->info.elems, 5);
	cr_assert_eq(k->info.stream_groups, 2);
	cr_assert_eq(k->info.stream_consumers, 2);
	cr_assert_eq(k->info.stream_pending, 3);
	cr_assert_eq(k->nel, 0);
	const size_t nkeys = d.n;
	const uint64_t crc = d.res.crc_computed;
	rc_free(&d);

	/* the same dump with every value skipped */
	d.skip_all = 1;
	cr_assert_eq(rc_parse(&d, buf, len, 13, 0, 4096), 0, "%s", d.d.msg);
	cr_assert_eq(d.n, nkeys);
	cr_assert_eq(d.res.crc_computed, crc);
	for (size_t i = 0; i < d.n; i++)
		cr_assert_eq(d.keys[i].nel, 0);
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

Test(rdb, expire_times)
{
	vl_redis r;
	start(&r, NULL);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "e1", "v", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "PEXPIREAT", "e1", "4102444800123", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "HSET", "e2", "f", "v", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "EXPIREAT", "e2", "4102444801", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "noexp", "v", NULL), 0);
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, buf, len, 3, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(rc_find_s(&d, 0, "e1")->expire_ms, 4102444800123ll);
	cr_assert_eq(rc_find_s(&d, 0, "e2")->expire_ms, 4102444801000ll);
	cr_assert_eq(rc_find_s(&d, 0, "noexp")->expire_ms, VL_RDB_NO_EXPIRE);
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

Test(rdb, string_vectors_and_float64)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 3;
	enum { N = 20, DIM = 768, DIM64 = 128 };
	static uint8_t v32[N][DIM * 4];
	static uint8_t v64[N][DIM64 * 8];
	char key[32];
	for (int i = 0; i < N; i++) {
		make_vec32(v32[i], DIM, i % 3 == 0);
		for (int j = 0; j < DIM64; j++) {
			double x = rnd_f32() * 3.0;
			memcpy(v64[i] + 8 * j, &x, 8);
		}
		snprintf(key, sizeof key, "vec:%d", i);
		const void *a1[] = { "SET", key, v32[i] };
		const size_t l1[] = { 3, strlen(key), DIM * 4 };
		cmd_ok(&r, 3, a1, l1);
		snprintf(key, sizeof key, "f64:%d", i);
		const void *a2[] = { "HSET", key, "embedding", v64[i], "label", "x" };
		const size_t l2[] = { 4, strlen(key), 9, DIM64 * 8, 5, 1 };
		cmd_ok(&r, 6, a2, l2);
	}
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	parse_all_ways(&d, buf, len);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "vec:%d", i);
		rc_key *k = rc_find_s(&d, 0, key);
		cr_assert_eq(k->type, 0);
		check_bytes(&k->el[0], v32[i], DIM * 4, "string vector");
		snprintf(key, sizeof key, "f64:%d", i);
		k = rc_find_s(&d, 0, key);
		check_bytes(rc_field(k, "embedding"), v64[i], DIM64 * 8, "float64 vector");
	}
	rc_free(&d);
	free(buf);
	vl_redis_stop(&r);
}

/* ------------------------------------------------------------------ */
/* Damaged real dumps                                                   */
/* ------------------------------------------------------------------ */

static uint8_t *real_dump(size_t *len, const uint8_t *vec, size_t vec_len)
{
	static const char *const extra[] = { "--rdbcompression", "no", NULL };
	vl_redis r;
	start(&r, extra);
	const void *argv[] = { "HSET", "doc:1", "vec", vec, "title", "hello" };
	const size_t lens[] = { 4, 5, 3, vec_len, 5, 5 };
	cmd_ok(&r, 6, argv, lens);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "other", "value", NULL), 0);
	uint8_t *buf;
	save(&r, &buf, len);
	vl_redis_stop(&r);
	return buf;
}

Test(rdb, truncated_bitflip_badmagic)
{
	rng_state = 4;
	uint8_t vec[64];
	make_vec32(vec, 16, 0);
	size_t len;
	uint8_t *buf = real_dump(&len, vec, sizeof vec);
	rc_write_seed("fuzz_rdb", "redis70-nocompress.rdb", buf, len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, buf, len, 0, 0, 0), 0, "%s", d.d.msg);
	rc_free(&d);

	/* every truncation point fails with VL_EFORMAT naming an offset */
	for (size_t cut = 0; cut < len; cut++) {
		int rc = rc_parse(&d, buf, cut, 0, 0, 0);
		cr_assert_eq(rc, VL_EFORMAT, "cut at %zu: rc %d (%s)", cut, rc, d.d.msg);
		cr_assert(strstr(d.d.msg, "offset") != NULL, "cut %zu: %s", cut, d.d.msg);
		cr_assert(cut < 9 || strstr(d.d.msg, "truncated") != NULL, "cut %zu: %s", cut, d.d.msg);
		rc_free(&d);
	}

	/* a flipped bit inside the vector: structure intact, CRC catches it */
	uint8_t *at = memmem(buf, len, vec, sizeof vec);
	cr_assert_not_null(at);
	at[5] ^= 0x10;
	cr_assert_eq(rc_parse(&d, buf, len, 0, 0, 0), VL_ECHECKSUM);
	cr_assert(strstr(d.d.msg, "CRC64 mismatch") && strstr(d.d.msg, "offset"), "%s", d.d.msg);
	cr_assert_eq(d.d.offset, len - 8);
	rc_free(&d);
	cr_assert_eq(rc_parse(&d, buf, len, 0, VL_RDB_IGNORE_CHECKSUM, 0), 0);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_MISMATCH);
	rc_free(&d);
	at[5] ^= 0x10;

	/* a flipped bit in the CRC trailer itself */
	buf[len - 3] ^= 1;
	cr_assert_eq(rc_parse(&d, buf, len, 0, 0, 0), VL_ECHECKSUM);
	rc_free(&d);
	buf[len - 3] ^= 1;

	/* bad magic */
	buf[0] = 'X';
	cr_assert_eq(rc_parse(&d, buf, len, 0, 0, 0), VL_EFORMAT);
	cr_assert(strstr(d.d.msg, "bad magic") && strstr(d.d.msg, "offset 0"), "%s", d.d.msg);
	cr_assert_eq(d.d.offset, 0);
	rc_free(&d);
	buf[0] = 'R';

	/* a future version whose structure is known still reads... */
	memcpy(buf + 5, "0013", 4);
	cr_assert_eq(rc_parse(&d, buf, len, 0, VL_RDB_IGNORE_CHECKSUM, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.res.version, 13);
	rc_free(&d);
	/* ...unless the consumer asks for strict versions */
	cr_assert_eq(rc_parse(&d, buf, len, 0, VL_RDB_STRICT_VERSION, 0), VL_EVERSION);
	cr_assert_eq(d.d.offset, 5);
	rc_free(&d);
	free(buf);
}

/* The --inspect report on a real dump: types, prefixes, fields, candidates. */
Test(rdb, inspect_report)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 5;
	enum { N = 30, DIM = 96 };
	uint8_t vec[DIM * 8];
	char key[32], cat[16], price[16];
	for (int i = 0; i < N; i++) {
		make_vec32(vec, DIM, 0);
		snprintf(key, sizeof key, "doc:%d", i);
		snprintf(cat, sizeof cat, "c%d", i % 3);
		snprintf(price, sizeof price, "%d.25", i);
		const void *argv[] = { "HSET", key, "embedding", vec, "category", cat, "price", price,
			               "body", "some longer text with spaces" };
		const size_t lens[] = { 4, strlen(key), 9, DIM * 4, 8, strlen(cat), 5, strlen(price), 4, 28 };
		cmd_ok(&r, 10, argv, lens);
		for (int j = 0; j < DIM; j++) {
			double x = rnd_f32();
			memcpy(vec + 8 * j, &x, 8);
		}
		snprintf(key, sizeof key, "v64:%d", i);
		const void *a2[] = { "SET", key, vec };
		const size_t l2[] = { 3, strlen(key), DIM * 8 };
		cmd_ok(&r, 3, a2, l2);
	}
	cr_assert_eq(vl_redis_cmd(&r, "RPUSH", "queue", "x", NULL), 0);
	cr_assert_eq(vl_redis_cmd(&r, "SET", "tmp", "1", "PX", "100000", NULL), 0);
	uint8_t *buf;
	size_t len;
	save(&r, &buf, &len);
	vl_redis_stop(&r);

	vl_rdb_inspect *in = vl_rdb_inspect_new();
	vl_rdb_mem m = { buf, len, 0, 1000 };
	vl_diag d;
	cr_assert_eq(vl_rdb_inspect_run(in, vl_rdb_read_mem, &m, NULL, &d), 0, "%s", d.msg);
	cr_assert_eq(in->version, 10);
	cr_assert_str_eq(in->redis_ver, r.version);
	cr_assert_eq(in->ndbs, 1);
	cr_assert_eq(in->dbs[0].keys, 2 * N + 2);
	cr_assert_eq(in->dbs[0].by_kind[VL_RDB_KIND_HASH], N);
	cr_assert_eq(in->dbs[0].by_kind[VL_RDB_KIND_STRING], N + 1);
	cr_assert_eq(in->dbs[0].by_kind[VL_RDB_KIND_LIST], 1);
	cr_assert_eq(in->dbs[0].expires, 1);
	int seen_doc = 0, seen_v64 = 0;
	for (size_t i = 0; i < in->ngroups; i++) {
		const vl_rdb_ins_group *g = &in->groups[i];
		vl_rdb_dtype t;
		uint32_t dim;
		if (g->prefix_len == 4 && memcmp(g->prefix, "doc:", 4) == 0) {
			seen_doc = 1;
			cr_assert_eq(g->hashes, N);
			cr_assert_eq(g->nfields, 4);
			for (size_t j = 0; j < g->nfields; j++) {
				const vl_rdb_ins_field *f = &g->fields[j];
				const int is_vec = vl_rdb_vecstat_guess(&f->vec, &t, &dim);
				if (f->name_len == 9) {
					cr_assert(is_vec && t == VL_RDB_DT_F32 && dim == DIM);
					cr_assert_eq(f->min_len, DIM * 4);
				} else {
					cr_assert_not(is_vec, "%.*s", (int)f->name_len, f->name);
				}
				if (f->name_len == 8)
					cr_assert_eq(vl_rdb_attr_guess(&f->attr), VL_RDB_ATTR_TAG);
				if (f->name_len == 5)
					cr_assert_eq(vl_rdb_attr_guess(&f->attr), VL_RDB_ATTR_NUMERIC);
				if (f->name_len == 4)
					cr_assert_eq(vl_rdb_attr_guess(&f->attr), VL_RDB_ATTR_TEXT);
			}
		}
		if (g->prefix_len == 4 && memcmp(g->prefix, "v64:", 4) == 0) {
			seen_v64 = 1;
			cr_assert(vl_rdb_vecstat_guess(&g->value.vec, &t, &dim));
			cr_assert(t == VL_RDB_DT_F64 && dim == DIM, "%s %u", vl_rdb_dtype_name(t), dim);
		}
	}
	cr_assert(seen_doc && seen_v64);
	char *text = NULL, *json = NULL;
	size_t tl, jl;
	FILE *f = open_memstream(&text, &tl);
	cr_assert_eq(vl_rdb_inspect_print(in, f, 0), 0);
	fclose(f);
	f = open_memstream(&json, &jl);
	cr_assert_eq(vl_rdb_inspect_print(in, f, 1), 0);
	fclose(f);
	cr_assert(strstr(text, "RDB version 10") && strstr(text, "checksum verified"), "%s", text);
	cr_assert(strstr(text, "field \"embedding\": float32 dim 96"), "%s", text);
	cr_assert(strstr(text, "field \"(value)\": float64 dim 96"), "%s", text);
	cr_assert(strstr(json, "\"name\":\"embedding\"") &&
	          strstr(json, "\"type\":\"vector\",\"dtype\":\"float32\",\"dim\":96"), "%s", json);
	cr_assert(strstr(json, "\"error\":null}"), "%s", json);
	free(text);
	free(json);
	vl_rdb_inspect_free(in);
	free(buf);
}
