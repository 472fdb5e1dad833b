/*
 * err.c - error codes, vl_strerror(), and the per-thread, per-store detail
 * message behind vl_errmsg().
 *
 * The detail lives in thread-local storage tagged with the store it belongs
 * to, so threads sharing a store never read each other's messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local struct {
	const vl_env *env;     /* store the message belongs to (NULL: vl_open) */
	char msg[1024];
} tls_err;

static const vl_env *env_of(const vl_store *st) { return st ? st->e : NULL; }

const char *vl_strerror(int code)
{
	switch (code) {
	case VL_OK: return "success";
	case VL_EINVAL: return "invalid argument";
	case VL_ENOMEM: return "out of memory";
	case VL_EIO: return "input/output error";
	case VL_ENOTFOUND: return "not found";
	case VL_EEXIST: return "already exists";
	case VL_ECORRUPT: return "store file is damaged";
	case VL_EDIM: return "vector has the wrong dimension";
	case VL_ENAN: return "vector holds NaN or infinity";
	case VL_EBUSY: return "locked by another writer or job";
	case VL_EVERSION: return "unsupported format version";
	case VL_EMAPFULL: return "LMDB map size reached";
	case VL_ENOSPC: return "no space left on device";
	case VL_EFORMAT: return "malformed input";
	case VL_EUNSUPPORTED: return "unsupported feature";
	case VL_ESCHEMA: return "schema mismatch";
	case VL_EFILTER: return "bad filter expression";
	case VL_EREADONLY: return "store is read-only";
	case VL_ECHECKSUM: return "checksum mismatch";
	case VL_ECANCELED: return "canceled";
	case VL_ETXN: return "transaction misuse";
	case VL_EKEY: return "bad key";
	case VL_ELIMIT: return "limit exceeded";
	}
	return "unknown error code";
}

const char *vl_errmsg(const vl_store *st)
{
	if (tls_err.env != env_of(st) || !tls_err.msg[0])
		return "";
	return tls_err.msg;
}

void vl_clear_err(const vl_store *st)
{
	tls_err.env = env_of(st);
	tls_err.msg[0] = 0;
}

int vl_fail(const vl_store *st, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tls_err.msg, sizeof tls_err.msg, fmt, ap);
	va_end(ap);
	tls_err.env = env_of(st);
	return code;
}

int vl_fail_diag(const vl_store *st, const vl_diag *d)
{
	int code = d->code ? d->code : VL_EIO;
	return vl_fail(st, code, "%s", d->msg[0] ? d->msg : vl_strerror(code));
}

int vl_code_from_errno(int err)
{
	switch (err) {
	case ENOMEM: return VL_ENOMEM;
	case ENOSPC:
	case EDQUOT: return VL_ENOSPC;
	case ENOENT: return VL_ENOTFOUND;
	case EEXIST: return VL_EEXIST;
	case EROFS:
	case EACCES:
	case EPERM: return VL_EREADONLY;
	case EAGAIN:
	case EBUSY: return VL_EBUSY;
	default: return VL_EIO;
	}
}

int vl_fail_errno(const vl_store *st, int err, const char *what, const char *path)
{
	return vl_fail(st, vl_code_from_errno(err), "%s %s: %s", what, path ? path : "", strerror(err));
}

int vl_fail_mdb(const vl_store *st, int rc, const char *what)
{
	int code;
	switch (rc) {
	case MDB_MAP_FULL:
		code = VL_EMAPFULL;
		break;
	case MDB_READERS_FULL:
		code = VL_ELIMIT;
		break;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
		code = VL_ECORRUPT;
		break;
	case MDB_VERSION_MISMATCH:
		code = VL_EVERSION;
		break;
	case MDB_NOTFOUND:
		code = VL_ENOTFOUND;
		break;
	case MDB_TXN_FULL:
		code = VL_ELIMIT;
		break;
	default:
		code = rc > 0 ? vl_code_from_errno(rc) : VL_EIO;
	}
	return vl_fail(st, code, "LMDB %s: %s", what, mdb_strerror(rc));
}
