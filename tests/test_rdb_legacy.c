/*
 * test_rdb_legacy.c - encodings Redis 7.0 no longer writes (zipmap, ziplist,
 * intset, quicklist v1, text zset scores, RDB 11/12 types, module values),
 * built byte by byte from the format description (tests/util/rdb_bytes.c),
 * plus the pure container decoders and damaged inputs.
 *
 * Where Redis 7.0 can still load an encoding, the same bytes are loaded by
 * the real redis-server and read back through commands, so the builder (and
 * the reader) are checked against Redis itself, not only against our notes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rdb/intset.h"
#include "rdb/listpack.h"
#include "rdb/lzf.h"
#include "rdb/rdb.h"
#include "rdb/ziplist.h"
#include "rdb/zipmap.h"
#include "util/rdb_bytes.h"
#include "util/rdb_collect.h"
#include "util/redis_fixture.h"

static const uint8_t lzf_abc[] = { 0x02, 'a', 'b', 'c', 0xe0, 0x00, 0x02 }; /* "abc" x 4 */

static char long300[301];

static void key(rb *b, int type, const char *name)
{
	rb_u8(b, (uint8_t)type);
	rb_cstr(b, name);
}

static void check_elem(const rc_elem *e, const char *a, const char *b)
{
	cr_assert_not_null(e);
	cr_assert_eq(e->a_len, strlen(a), "'%.*s' vs '%s'", (int)e->a_len, e->a, a);
	cr_assert(memcmp(e->a, a, e->a_len) == 0, "'%.*s' vs '%s'", (int)e->a_len, e->a, a);
	if (b) {
		cr_assert_not_null(e->b);
		cr_assert_eq(e->b_len, strlen(b), "'%.*s' vs '%s'", (int)e->b_len, e->b, b);
		cr_assert(memcmp(e->b, b, e->b_len) == 0);
	}
}

/* An RDB 9 file using every pre-7.0 encoding Redis 7.0 still loads. */
static void build_legacy(rb *b)
{
	memset(long300, 'x', 300);
	long300[300] = 0;
	rb_header(b, 9);
	rb_u8(b, 0xfa);
	rb_cstr(b, "redis-ver");
	rb_cstr(b, "5.0.0");
	rb_u8(b, 0xfe);
	rb_len(b, 0);
	rb_u8(b, 0xfb);
	rb_len(b, 13);
	rb_len(b, 3);

	rb blob = { 0 };
	/* zipmap hash, with a 300-byte value (254 + u32 length) and free bytes */
	const rb_item zm[] = { RB_S("f1"), RB_S("v1"), RB_S("field2"), { long300, 300, 0 },
		               RB_S("f3"), RB_S("") };
	rb_zipmap(&blob, zm, 6);
	key(b, 9, "zm");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;

	/* list ziplist: every integer width, 14-bit and long strings, big prevlen */
	const rb_item zl[] = { RB_S("a"), RB_I(5),  RB_I(-100), RB_I(1000), RB_I(100000),
		               RB_I(40000000), RB_I(1099511627776ll), { long300, 70, 0 },
		               { long300, 300, 0 }, RB_I(12), RB_I(-1) };
	rb_ziplist(&blob, zl, 11);
	rb_u8(b, 0xfc); /* expire in ms */
	rb_u64le(b, 4102444800123ull);
	key(b, 10, "zl");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;

	static const int64_t i2[] = { -5, 3, 10 }, i4[] = { -70000, 1, 70000 },
	                     i8[] = { -5000000000ll, 0, 5000000000ll };
	rb_intset(&blob, i2, 3, 2);
	key(b, 11, "is2");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;
	rb_intset(&blob, i4, 3, 4);
	key(b, 11, "is4");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;
	rb_intset(&blob, i8, 3, 8);
	rb_u8(b, 0xf8); /* IDLE */
	rb_len(b, 100);
	key(b, 11, "is8");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;

	const rb_item zz[] = { RB_S("m1"), RB_S("1.5"), RB_S("m2"), RB_I(3) };
	rb_ziplist(&blob, zz, 4);
	key(b, 12, "zzl");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;

	const rb_item hz[] = { RB_S("f"), RB_S("v"), RB_S("n"), RB_I(42) };
	rb_ziplist(&blob, hz, 4);
	rb_u8(b, 0xf9); /* FREQ */
	rb_u8(b, 7);
	key(b, 13, "hzl");
	rb_str(b, blob.p, blob.len);
	blob.len = 0;

	/* quicklist v1: two ziplist nodes */
	key(b, 14, "ql");
	rb_len(b, 2);
	const rb_item q1[] = { RB_S("q0"), RB_S("q1") }, q2[] = { RB_I(2) };
	rb_ziplist(&blob, q1, 2);
	rb_str(b, blob.p, blob.len);
	blob.len = 0;
	rb_ziplist(&blob, q2, 1);
	rb_str(b, blob.p, blob.len);
	blob.len = 0;

	/* zset with text scores: "1.5", +inf (254), -inf (255) */
	key(b, 3, "zt");
	rb_len(b, 3);
	rb_cstr(b, "a");
	rb_u8(b, 3);
	rb_raw(b, "1.5", 3);
	rb_cstr(b, "b");
	rb_u8(b, 254);
	rb_cstr(b, "c");
	rb_u8(b, 255);

	/* strings: INT8, INT16, INT32 encodings, LZF, expire in seconds */
	key(b, 0, "i8");
	rb_u8(b, 0xc0);
	rb_u8(b, 0xfb); /* -5 */
	key(b, 0, "i16");
	rb_u8(b, 0xc1);
	rb_raw(b, "\x39\x30", 2); /* 12345 */
	key(b, 0, "i32");
	rb_u8(b, 0xc2);
	rb_raw(b, "\x00\xca\x9a\x3b", 4); /* 1000000000 */
	rb_u8(b, 0xfd);
	rb_u32le(b, 2000000000u);
	key(b, 0, "lzf");
	rb_u8(b, 0xc3);
	rb_len(b, sizeof lzf_abc);
	rb_len(b, 12);
	rb_raw(b, lzf_abc, sizeof lzf_abc);
	rb_finish(b, 9, 1);
	rb_free(&blob);
}

static void check_legacy(rc_dump *d)
{
	cr_assert_eq(d->res.version, 9);
	cr_assert_eq(d->res.checksum, VL_RDB_CRC_OK);
	cr_assert_eq(d->n, 13);
	rc_key *k = rc_find_s(d, 0, "zm");
	cr_assert_eq(k->nel, 3);
	check_elem(&k->el[0], "f1", "v1");
	check_elem(&k->el[1], "field2", long300);
	check_elem(&k->el[2], "f3", "");
	k = rc_find_s(d, 0, "zl");
	cr_assert_eq(k->expire_ms, 4102444800123ll);
	static const char *const want_zl[] = { "a", "5", "-100", "1000", "100000", "40000000",
		                               "1099511627776" };
	cr_assert_eq(k->nel, 11);
	for (int i = 0; i < 7; i++)
		check_elem(&k->el[i], want_zl[i], NULL);
	cr_assert_eq(k->el[7].a_len, 70);
	cr_assert_eq(k->el[8].a_len, 300);
	check_elem(&k->el[9], "12", NULL);
	check_elem(&k->el[10], "-1", NULL);
	k = rc_find_s(d, 0, "is2");
	check_elem(&k->el[0], "-5", NULL);
	check_elem(&k->el[2], "10", NULL);
	check_elem(&rc_find_s(d, 0, "is4")->el[0], "-70000", NULL);
	check_elem(&rc_find_s(d, 0, "is8")->el[2], "5000000000", NULL);
	k = rc_find_s(d, 0, "zzl");
	cr_assert_eq(k->nel, 2);
	cr_assert_eq(k->el[0].score, 1.5);
	cr_assert_eq(k->el[1].score, 3.0);
	k = rc_find_s(d, 0, "hzl");
	check_elem(&k->el[1], "n", "42");
	k = rc_find_s(d, 0, "ql");
	cr_assert_eq(k->nel, 3);
	check_elem(&k->el[2], "2", NULL);
	k = rc_find_s(d, 0, "zt");
	cr_assert_eq(k->el[0].score, 1.5);
	cr_assert(isinf(k->el[1].score) && k->el[1].score > 0);
	cr_assert(isinf(k->el[2].score) && k->el[2].score < 0);
	check_elem(&rc_find_s(d, 0, "i8")->el[0], "-5", NULL);
	check_elem(&rc_find_s(d, 0, "i16")->el[0], "12345", NULL);
	check_elem(&rc_find_s(d, 0, "i32")->el[0], "1000000000", NULL);
	k = rc_find_s(d, 0, "lzf");
	check_elem(&k->el[0], "abcabcabcabc", NULL);
	cr_assert_eq(k->expire_ms, 2000000000000ll);
}

static void expect_reply(vl_redis *r, const char *want, const char *a0, const char *a1,
                         const char *a2)
{
	const void *argv[3] = { a0, a1, a2 };
	size_t lens[3] = { strlen(a0), a1 ? strlen(a1) : 0, a2 ? strlen(a2) : 0 };
	const int argc = a2 ? 3 : a1 ? 2 : 1;
	char got[512];
	cr_assert_eq(vl_redis_cmdv(r, got, sizeof got, argc, argv, lens), 0, "%s: %s", a0, r->err);
	cr_assert_str_eq(got, want, "%s %s %s", a0, a1 ? a1 : "", a2 ? a2 : "");
}

Test(rdb_legacy, pre70_encodings_match_real_redis)
{
	rb b = { 0 };
	build_legacy(&b);
	rc_write_seed("fuzz_rdb", "legacy-rdb9.rdb", b.p, b.len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, b.p, b.len, 0, 0, 0), 0, "%s", d.d.msg);
	check_legacy(&d);
	rc_free(&d);
	for (size_t chunk = 1; chunk < 12; chunk += 5) {
		cr_assert_eq(rc_parse(&d, b.p, b.len, chunk, 0, 4096), 0, "%s", d.d.msg);
		check_legacy(&d);
		rc_free(&d);
	}
	/* every truncation is an error, never a crash */
	for (size_t cut = 0; cut < b.len; cut++) {
		cr_assert_eq(rc_parse(&d, b.p, cut, 0, 0, 0), VL_EFORMAT, "cut %zu", cut);
		rc_free(&d);
	}

	if (!vl_redis_available())
		cr_skip_test("redis-server is not installed");
	vl_redis r;
	cr_assert_eq(vl_redis_start_rdb(&r, NULL, b.p, b.len), 0, "redis refused our bytes: %s", r.err);
	expect_reply(&r, "13", "DBSIZE", NULL, NULL);
	expect_reply(&r, "v1", "HGET", "zm", "f1");
	expect_reply(&r, long300, "HGET", "zm", "field2");
	expect_reply(&r, "", "HGET", "zm", "f3");
	expect_reply(&r, "1099511627776", "LINDEX", "zl", "6");
	expect_reply(&r, "-100", "LINDEX", "zl", "2");
	expect_reply(&r, "-1", "LINDEX", "zl", "10");
	expect_reply(&r, "4102444800123", "PEXPIRETIME", "zl", NULL);
	expect_reply(&r, "1", "SISMEMBER", "is8", "-5000000000");
	expect_reply(&r, "1", "SISMEMBER", "is4", "-70000");
	expect_reply(&r, "1.5", "ZSCORE", "zzl", "m1");
	expect_reply(&r, "3", "ZSCORE", "zzl", "m2");
	expect_reply(&r, "42", "HGET", "hzl", "n");
	expect_reply(&r, "2", "LINDEX", "ql", "2");
	expect_reply(&r, "inf", "ZSCORE", "zt", "b");
	expect_reply(&r, "-inf", "ZSCORE", "zt", "c");
	expect_reply(&r, "-5", "GET", "i8", NULL);
	expect_reply(&r, "12345", "GET", "i16", NULL);
	expect_reply(&r, "1000000000", "GET", "i32", NULL);
	expect_reply(&r, "abcabcabcabc", "GET", "lzf", NULL);
	expect_reply(&r, "2000000000000", "PEXPIRETIME", "lzf", NULL);
	vl_redis_stop(&r);
	rb_free(&b);
}

/* RDB 11/12 types (set listpack, stream v3, hash field TTLs) + SLOT_INFO. */
Test(rdb_legacy, rdb12_types)
{
	rb b = { 0 }, blob = { 0 };
	rb_header(&b, 12);
	rb_u8(&b, 0xf4); /* SLOT_INFO */
	rb_len(&b, 866);
	rb_len(&b, 5);
	rb_len(&b, 1);

	const rb_item set[] = { RB_S("x"), RB_I(-3000), RB_I(70000), RB_S("yy") };
	rb_listpack(&blob, set, 4);
	key(&b, 20, "slp");
	rb_str(&b, blob.p, blob.len);
	blob.len = 0;

	/* 22 (pre-GA): absolute TTLs */
	key(&b, 22, "hm0");
	rb_len(&b, 2);
	rb_len(&b, 0);
	rb_cstr(&b, "a");
	rb_cstr(&b, "1");
	rb_len(&b, 1700000000000ull);
	rb_cstr(&b, "b");
	rb_cstr(&b, "2");

	/* 24: TTL relative to minExpire, +1 */
	key(&b, 24, "hm");
	rb_u64le(&b, 1700000000000ull);
	rb_len(&b, 2);
	rb_len(&b, 1);
	rb_cstr(&b, "early");
	rb_cstr(&b, "e");
	rb_len(&b, 0);
	rb_cstr(&b, "never");
	rb_cstr(&b, "n");

	/* 23 and 25: listpack of (field, value, ttl) */
	const rb_item lx[] = { RB_S("f"), RB_S("v"), RB_I(1800000000000ll), RB_S("g"), RB_I(7),
		               RB_I(0) };
	rb_listpack(&blob, lx, 6);
	key(&b, 23, "hlx0");
	rb_str(&b, blob.p, blob.len);
	key(&b, 25, "hlx");
	rb_u64le(&b, 1800000000000ull);
	rb_str(&b, blob.p, blob.len);
	blob.len = 0;

	/* quicklist 2 with a PLAIN node and a PACKED node */
	key(&b, 18, "ql2");
	rb_len(&b, 2);
	rb_len(&b, 1);
	rb_cstr(&b, "plain-element");
	rb_len(&b, 2);
	const rb_item lp[] = { RB_S("p0"), RB_I(-1) };
	rb_listpack(&blob, lp, 2);
	rb_str(&b, blob.p, blob.len);
	blob.len = 0;

	/* stream v3: one node, 2 entries, one group, one consumer with 1 pending */
	key(&b, 21, "st");
	rb_len(&b, 1);
	rb_str(&b, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0", 16);
	const rb_item node[] = { RB_I(2), RB_I(0), RB_I(1), RB_S("f"), RB_I(0),
		                 RB_I(2), RB_I(0), RB_I(0), RB_S("v1"), RB_I(3),
		                 RB_I(2), RB_I(1), RB_I(0), RB_S("v2"), RB_I(3) };
	rb_listpack(&blob, node, 15);
	rb_str(&b, blob.p, blob.len);
	blob.len = 0;
	rb_len(&b, 2);                   /* length */
	rb_len(&b, 2), rb_len(&b, 0);    /* last id */
	rb_len(&b, 1), rb_len(&b, 0);    /* first id */
	rb_len(&b, 0), rb_len(&b, 0);    /* max deleted id */
	rb_len(&b, 2);                   /* entries added */
	rb_len(&b, 1);                   /* groups */
	rb_cstr(&b, "g");
	rb_len(&b, 1), rb_len(&b, 0), rb_len(&b, 1); /* last id, entries read */
	rb_len(&b, 1);                               /* group PEL */
	rb_raw(&b, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0", 16);
	rb_u64le(&b, 1700000000000ull);
	rb_len(&b, 1);
	rb_len(&b, 1); /* consumers */
	rb_cstr(&b, "alice");
	rb_u64le(&b, 1700000000001ull); /* seen */
	rb_u64le(&b, 1700000000002ull); /* active (v3) */
	rb_len(&b, 1);
	rb_raw(&b, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0", 16);
	rb_finish(&b, 12, 1);
	rc_write_seed("fuzz_rdb", "types-rdb12.rdb", b.p, b.len);

	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, b.p, b.len, 3, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.n, 7);
	rc_key *k = rc_find_s(&d, 0, "slp");
	cr_assert_eq(k->kind, VL_RDB_KIND_SET);
	cr_assert_eq(k->nel, 4);
	check_elem(&k->el[1], "-3000", NULL);
	check_elem(&k->el[2], "70000", NULL);
	k = rc_find_s(&d, 0, "hm0");
	cr_assert_eq(k->el[0].expire_ms, VL_RDB_NO_EXPIRE);
	cr_assert_eq(k->el[1].expire_ms, 1700000000000ll);
	check_elem(&k->el[1], "b", "2");
	k = rc_find_s(&d, 0, "hm");
	cr_assert_eq(k->el[0].expire_ms, 1700000000000ll);
	cr_assert_eq(k->el[1].expire_ms, VL_RDB_NO_EXPIRE);
	check_elem(&k->el[0], "early", "e");
	for (int i = 0; i < 2; i++) {
		k = rc_find_s(&d, 0, i ? "hlx" : "hlx0");
		cr_assert_eq(k->nel, 2);
		check_elem(&k->el[0], "f", "v");
		cr_assert_eq(k->el[0].expire_ms, 1800000000000ll);
		check_elem(&k->el[1], "g", "7");
		cr_assert_eq(k->el[1].expire_ms, VL_RDB_NO_EXPIRE);
	}
	k = rc_find_s(&d, 0, "ql2");
	cr_assert_eq(k->nel, 3);
	check_elem(&k->el[0], "plain-element", NULL);
	check_elem(&k->el[2], "-1", NULL);
	k = rc_find_s(&d, 0, "st");
	cr_assert_eq(k->info.elems, 2);
	cr_assert_eq(k->info.stream_groups, 1);
	cr_assert_eq(k->info.stream_consumers, 1);
	cr_assert_eq(k->info.stream_pending, 1);
	rc_free(&d);
	for (size_t cut = 0; cut < b.len; cut++) {
		cr_assert_eq(rc_parse(&d, b.p, cut, 0, 0, 0), VL_EFORMAT, "cut %zu", cut);
		rc_free(&d);
	}
	rb_free(&b);
	rb_free(&blob);
}

/* Module values (type 7) and MODULE_AUX, walked without the module; checked
 * with the real redis-check-rdb, which walks them the same way. */
static void build_modules(rb *b)
{
	rb_header(b, 10);
	rb_u8(b, 0xf7); /* MODULE_AUX, when = before */
	rb_len(b, rb_module_id("ft_index0", 2));
	rb_len(b, 2);
	rb_len(b, 1);
	rb_len(b, 2), rb_len(b, 1);            /* UINT 1: one index */
	rb_len(b, 5), rb_str(b, "idx\0", 4);   /* STRING name (with NUL) */
	rb_len(b, 2), rb_len(b, 0);
	rb_len(b, 5), rb_str(b, "doc:", 4);
	rb_len(b, 4), rb_u64le(b, 0x3ff8000000000000ull); /* DOUBLE 1.5 */
	rb_len(b, 3), rb_u32le(b, 0x40200000u);           /* FLOAT 2.5 */
	rb_len(b, 1), rb_len(b, (uint64_t)-2);            /* SINT -2 */
	rb_len(b, 0);                                     /* EOF */
	rb_u8(b, 0xfe);
	rb_len(b, 0);
	key(b, 7, "json:1");
	rb_len(b, rb_module_id("ReJSON-RL", 3));
	rb_len(b, 5);
	rb_cstr(b, "{\"a\":[1,2,3]}");
	rb_len(b, 0);
	key(b, 0, "after");
	rb_cstr(b, "ok");
	rb_finish(b, 10, 1);
}

Test(rdb_legacy, module_values_skipped_by_opcodes)
{
	char name[10];
	unsigned ev;
	vl_rdb_module_name(0x45e25238df912c03ull, name, &ev);
	cr_assert_str_eq(name, "ReJSON-RL");
	cr_assert_eq(ev, 3);
	cr_assert_eq(rb_module_id("vectorset", 0), 0xbde72da2bb1eb400ull);

	rb b = { 0 };
	build_modules(&b);
	rc_write_seed("fuzz_rdb", "modules.rdb", b.p, b.len);
	rc_dump d;
	memset(&d, 0, sizeof d);
	cr_assert_eq(rc_parse(&d, b.p, b.len, 2, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.nmods, 1);
	cr_assert_str_eq(d.mods[0].module_name, "ft_index0");
	cr_assert_eq(d.mods[0].module_encver, 2);
	cr_assert_eq(d.mods[0].when, 1);
	cr_assert_eq(d.mods[0].items, 7);
	cr_assert_eq(d.nmod, 7);
	cr_assert_eq(d.mod[0].ival, 1);
	cr_assert(d.mod[1].a_len == 4 && memcmp(d.mod[1].a, "idx", 4) == 0); /* NUL included */
	cr_assert_eq(d.mod[4].score, 1.5);
	cr_assert_eq(d.mod[5].score, 2.5);
	cr_assert_eq(d.mod[6].ival, -2);
	rc_key *k = rc_find_s(&d, 0, "json:1");
	cr_assert_eq(k->kind, VL_RDB_KIND_MODULE);
	cr_assert_str_eq(k->info.module_name, "ReJSON-RL");
	cr_assert_eq(k->info.module_encver, 3);
	cr_assert_eq(k->nel, 1);
	check_elem(&k->el[0], "{\"a\":[1,2,3]}", NULL);
	check_elem(&rc_find_s(&d, 0, "after")->el[0], "ok", NULL);
	rc_free(&d);

	if (system("command -v redis-check-rdb >/dev/null 2>&1") != 0)
		cr_skip_test("redis-check-rdb is not installed");
	char path[] = "/tmp/vl-rdbmod-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b.p, b.len), (ssize_t)b.len);
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "redis-check-rdb %s >/dev/null 2>&1", path);
	int st = system(cmd);
	unlink(path);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "redis-check-rdb rejected our module bytes");
	rb_free(&b);
}
