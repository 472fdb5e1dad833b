/*
 * fuzz_rdb.c - the whole RDB reader. The first two input bytes seed the
 * sizes of the chunks the read function returns (so chunk boundaries move
 * around), the rest is the dump. Every input is parsed twice, with
 * different chunking and window sizes, and both runs must agree: chunk
 * boundaries must never change the outcome.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/rdb.h"

typedef struct chunky {
	const uint8_t *data;
	size_t len, pos;
	uint32_t state;         /* LCG choosing the next chunk size */
} chunky;

static int64_t read_chunky(void *ud, void *buf, size_t cap)
{
	chunky *c = ud;
	c->state = c->state * 1103515245u + 12345u;
	size_t n = 1 + (c->state >> 16) % 97;
	if (n > cap)
		n = cap;
	if (n > c->len - c->pos)
		n = c->len - c->pos;
	if (n)
		memcpy(buf, c->data + c->pos, n);
	c->pos += n;
	return (int64_t)n;
}

typedef struct tally {
	uint64_t keys, elems, bytes;
} tally;

/* Want every other key, so both the decode and the skip paths run. */
static int on_key(void *ud, const vl_rdb_key *k)
{
	tally *t = ud;
	t->keys++;
	return (k->ordinal & 1) ? VL_RDB_SKIP : VL_RDB_WANT;
}

static int on_elem(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	tally *t = ud;
	(void)k;
	t->elems++;
	/* touch every byte: ASan must see any out-of-bounds slice */
	for (size_t i = 0; i < e->a_len; i++)
		t->bytes += e->a[i];
	for (size_t i = 0; i < e->b_len; i++)
		t->bytes += e->b[i];
	return 0;
}

static int on_mod(void *ud, const vl_rdb_module_aux *m)
{
	(void)ud;
	(void)m;
	return VL_RDB_WANT;
}

static int run(const uint8_t *data, size_t len, uint32_t seed, size_t window, tally *t,
               vl_rdb_result *res, vl_diag *d)
{
	static const vl_rdb_handlers h = { .key = on_key, .elem = on_elem, .module_aux_begin = on_mod };
	chunky c = { data, len, 0, seed };
	vl_rdb_opts o = VL_RDB_OPTS_INIT;
	o.window = window;
	o.max_value = 1 << 20;
	memset(t, 0, sizeof *t);
	return vl_rdb_parse(read_chunky, &c, &o, &h, t, res, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const uint32_t seed = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	tally t1, t2;
	vl_rdb_result r1, r2;
	vl_diag d1, d2;
	int rc1 = run(data, size, seed, 4096, &t1, &r1, &d1);
	int rc2 = run(data, size, seed ^ 0x5555u, 1 << 16, &t2, &r2, &d2);
	if (rc1 != rc2 || t1.keys != t2.keys || t1.elems != t2.elems || t1.bytes != t2.bytes ||
	    (rc1 == 0 && r1.crc_computed != r2.crc_computed))
		abort(); /* chunking changed the outcome */
	if (rc1 != 0 && strstr(d1.msg, "offset") == NULL)
		abort(); /* every error names an offset */
	return 0;
}
