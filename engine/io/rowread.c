/* rowread.c - batched row reads with io_uring or pread (see rowread.h). */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "rowread.h"

#define RING_ENTRIES 64

static atomic_int uring_broken;           /* 1 once io_uring_queue_init failed */
static _Thread_local struct io_uring ring;
static _Thread_local int ring_ready;
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;

static void ring_exit(void *unused)
{
	(void)unused;
	if (ring_ready) {
		io_uring_queue_exit(&ring);
		ring_ready = 0;
	}
}

static void make_key(void)
{
	pthread_key_create(&ring_key, ring_exit);
}

static int ring_get(void)
{
	if (ring_ready)
		return 1;
	if (atomic_load(&uring_broken))
		return 0;
	if (io_uring_queue_init(RING_ENTRIES, &ring, 0) != 0) {
		atomic_store(&uring_broken, 1);
		return 0;
	}
	ring_ready = 1;
	/* tear the ring down when the thread exits */
	pthread_once(&ring_key_once, make_key);
	pthread_setspecific(ring_key, &ring);
	return 1;
}

int vl_rowread_uring_available(void)
{
	return ring_get();
}

static int read_pread(int fd, const uint64_t *offsets, size_t n, size_t len, uint8_t *out, vl_diag *d)
{
	for (size_t i = 0; i < n; i++) {
		size_t done = 0;
		while (done < len) {
			ssize_t r = pread(fd, out + i * len + done, len - done, (off_t)(offsets[i] + done));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return vl_diag_set(d, VL_EIO, offsets[i], "reading a row: %s",
				                   r < 0 ? strerror(errno) : "unexpected end of file");
			done += (size_t)r;
		}
	}
	return VL_OK;
}

static int read_uring(int fd, const uint64_t *offsets, size_t n, size_t len, uint8_t *out, vl_diag *d)
{
	for (size_t base = 0; base < n; base += RING_ENTRIES) {
		size_t m = n - base < RING_ENTRIES ? n - base : RING_ENTRIES;
		for (size_t i = 0; i < m; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				return read_pread(fd, offsets + base, n - base, len, out + base * len, d);
			io_uring_prep_read(sqe, fd, out + (base + i) * len, (unsigned)len, offsets[base + i]);
			io_uring_sqe_set_data64(sqe, base + i);
		}
		int rc = io_uring_submit_and_wait(&ring, (unsigned)m);
		if (rc < 0)
			return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "io_uring submit: %s", strerror(-rc));
		size_t got = 0;
		int short_read = 0;
		uint64_t bad_off = 0;
		while (got < m) {
			struct io_uring_cqe *cqe;
			if ((rc = io_uring_wait_cqe(&ring, &cqe)) < 0)
				return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "io_uring wait: %s", strerror(-rc));
			if (cqe->res != (int)len && !short_read) {
				short_read = 1;
				bad_off = offsets[io_uring_cqe_get_data64(cqe)];
			}
			io_uring_cqe_seen(&ring, cqe);
			got++;
		}
		/* a short read is rare (signals): redo the batch with pread */
		if (short_read && read_pread(fd, offsets + base, m, len, out + base * len, d))
			return vl_diag_set(d, VL_EIO, bad_off, "reading a row failed");
	}
	return VL_OK;
}

int vl_rowread(int fd, const uint64_t *offsets, size_t n, size_t len, void *out, vl_rowio mode,
               vl_diag *d)
{
	if (mode == VL_ROWIO_URING && ring_get())
		return read_uring(fd, offsets, n, len, out, d);
	return read_pread(fd, offsets, n, len, out, d);
}
