/*
 * tags.h - how a tag field's value splits into tags.
 *
 * A tag value is stored exactly as given (so exports round-trip), and read as
 * a set of tags: split on ',' with surrounding ASCII whitespace trimmed and
 * empty pieces dropped ("a, b,,c " -> {a, b, c}). Matching is exact and
 * case-sensitive. This is the single definition used by segment columns,
 * the write buffer and filters.
 */
#ifndef VL_TAGS_H
#define VL_TAGS_H

#include <stddef.h>
#include <stdint.h>

#define VL_TAG_SEP ','

/* Next tag of s[0..len) from *pos; returns 0 when there are no more. */
int vl_tag_next(const uint8_t *s, size_t len, size_t *pos, const uint8_t **tag, size_t *tlen);

#endif
