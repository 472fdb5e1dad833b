/*
 * gen_resp.c - Redis protocol (RESP) for loading the cold-start data set into
 * a real redis-server through `redis-cli --pipe`.
 *
 *   gen_resp BASE.fvecs [-n rows] | redis-cli -p PORT --pipe
 *
 * One HSET per row, shaped like LlamaIndex's RedisVectorStore documents:
 *   HSET doc:<node uuid> embedding <dim float32, little-endian> text ...
 *        _node_content ... _node_type TextNode id ... doc_id ... ref_doc_id ...
 *        document_id ...
 * The text fields come from bench_row_fields(), the same bytes vl_bench
 * stores with -attrs.
 */
#include "bench_util.h"

static void bulk(FILE *o, const void *p, size_t n)
{
	fprintf(o, "$%zu\r\n", n);
	fwrite(p, 1, n, o);
	fputs("\r\n", o);
}

static void bulk_str(FILE *o, const char *s) { bulk(o, s, strlen(s)); }

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gen_resp BASE.fvecs [-n rows] | redis-cli --pipe\n");
		return 2;
	}
	size_t limit = argc >= 4 && !strcmp(argv[2], "-n") ? strtoull(argv[3], NULL, 10) : 0;
	bench_mat base;
	if (bench_read_vecs(argv[1], limit, &base))
		return 1;
	static char obuf[1 << 20];
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	char *text = malloc(BENCH_ROW_CAP);
	if (!text)
		return 1;
	size_t bytes = 0;
	for (size_t r = 0; r < base.n; r++) {
		bench_field f[BENCH_NFIELDS];
		bytes += bench_row_fields(r, f, text);
		char key[64];
		snprintf(key, sizeof key, "doc:%.*s", (int)f[3].len, f[3].value);
		fprintf(stdout, "*%d\r\n", 2 + 2 * (1 + BENCH_NFIELDS));
		bulk_str(stdout, "HSET");
		bulk_str(stdout, key);
		bulk_str(stdout, "embedding");
		bulk(stdout, (const float *)base.data + r * base.dim, base.dim * 4);
		for (size_t j = 0; j < BENCH_NFIELDS; j++) {
			bulk_str(stdout, f[j].name);
			bulk(stdout, f[j].value, f[j].len);
		}
	}
	if (fflush(stdout)) {
		fprintf(stderr, "gen_resp: write failed: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "gen_resp: %zu rows, %.0f text bytes per row\n", base.n,
	        base.n ? (double)bytes / base.n : 0.0);
	free(text);
	free(base.data);
	return 0;
}
