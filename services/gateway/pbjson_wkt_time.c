// SPDX-License-Identifier: MIT
/*
 * google.protobuf.Timestamp and Duration in JSON: RFC 3339 in UTC
 * ("1972-01-01T10:00:20.021Z"; an offset is accepted on input) and
 * seconds with an "s" ("-1.5s"). Either way the fraction is printed with
 * 0, 3, 6 or 9 digits, as protobuf's own printers do, and the ranges are
 * the types' own: years 0001 to 9999, durations within 10,000 years.
 * Both messages are (int64 seconds = 1, int32 nanos = 2).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pbjson_wkt.h"

#define TS_MIN -62135596800LL /* 0001-01-01T00:00:00Z */
#define TS_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define DUR_MAX 315576000000LL
#define NANOS 1000000000

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era;
	int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* n decimal digits at *s, advanced. \return the value, or -1. */
static int64_t digits(const char **s, int n)
{
	int64_t v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

/* An optional ".d{1,9}" at *s as nanoseconds. \return 0, or -1. */
static int fraction(const char **s, int32_t *nanos)
{
	int n = 0;

	*nanos = 0;
	if (**s != '.')
		return 0;
	for ((*s)++; **s >= '0' && **s <= '9'; (*s)++) {
		if (++n > 9)
			return -1;
		*nanos = *nanos * 10 + (**s - '0');
	}
	if (!n)
		return -1;
	for (; n < 9; n++)
		*nanos *= 10;
	return 0;
}

/* ".000", ".000000" or ".000000000" for nanos (none for 0). */
static void fraction_print(char *buf, size_t len, int32_t nanos)
{
	if (!nanos)
		buf[0] = '\0';
	else if (nanos % 1000000 == 0)
		snprintf(buf, len, ".%03" PRId32, nanos / 1000000);
	else if (nanos % 1000 == 0)
		snprintf(buf, len, ".%06" PRId32, nanos / 1000);
	else
		snprintf(buf, len, ".%09" PRId32, nanos);
}

static int timestamp_parse(const char *s, int64_t *secs, int32_t *nanos)
{
	int64_t y, mo, d, h, mi, sec, off = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	y = digits(&s, 4);
	if (y < 1 || *s++ != '-' || (mo = digits(&s, 2)) < 1 || mo > 12 || *s++ != '-' ||
	    (d = digits(&s, 2)) < 1 || d > mdays[mo - 1] || *s++ != 'T' ||
	    (h = digits(&s, 2)) < 0 || h > 23 || *s++ != ':' ||
	    (mi = digits(&s, 2)) < 0 || mi > 59 || *s++ != ':' ||
	    (sec = digits(&s, 2)) < 0 || sec > 59 || fraction(&s, nanos))
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 || y % 400 == 0)))
		return -1;
	if (*s == 'Z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;
		int64_t oh = digits(&s, 2), om;

		if (oh < 0 || oh > 23 || *s++ != ':' || (om = digits(&s, 2)) < 0 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*s)
		return -1;
	*secs = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return *secs < TS_MIN || *secs > TS_MAX ? -1 : 0;
}

static int duration_parse(const char *s, int64_t *secs, int32_t *nanos)
{
	bool neg = *s == '-';
	int64_t v = 0;
	int n = 0;

	s += neg;
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (v > DUR_MAX)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (!n || fraction(&s, nanos) || strcmp(s, "s") || v > DUR_MAX)
		return -1;
	*secs = neg ? -v : v;
	if (neg)
		*nanos = -*nanos;
	return 0;
}

int pbjson__time_encode(enum pbjson_wkt kind, const json_t *j, struct pbw_buf *out,
			char *err)
{
	bool ts = kind == PBJSON_WKT_TIMESTAMP;
	int64_t secs = 0;
	int32_t nanos = 0;

	if (!json_is_string(j) || strlen(json_string_value(j)) != json_string_length(j) ||
	    (ts ? timestamp_parse(json_string_value(j), &secs, &nanos) :
		  duration_parse(json_string_value(j), &secs, &nanos))) {
		snprintf(err, PBJSON_ERR_MAX, ts ?
			 "expected an RFC 3339 time from 0001 to 9999 (\"1972-01-01T10:00:20.021Z\")" :
			 "expected a duration in seconds within 10,000 years (\"1.5s\")");
		return -EINVAL;
	}
	if (secs) {
		pbw_tag(out, 1, PBW_VARINT);
		pbw_varint(out, (uint64_t)secs);
	}
	if (nanos) {
		pbw_tag(out, 2, PBW_VARINT);
		pbw_varint(out, (uint64_t)(int64_t)nanos);
	}
	return out->oom ? -ENOMEM : 0;
}

int pbjson__time_decode(enum pbjson_wkt kind, const uint8_t *buf, size_t len,
			json_t **out, char *err)
{
	bool ts = kind == PBJSON_WKT_TIMESTAMP;
	const char *name = ts ? "google.protobuf.Timestamp" : "google.protobuf.Duration";
	struct pbw_reader r = pbw_reader_of(buf, len);
	int64_t secs = 0;
	int32_t nanos = 0;
	char frac[16], s[80];

	*out = NULL;
	while (r.p < r.end) {
		uint64_t tag, v;

		if (!pbw_read_varint(&r, &tag) || !(tag >> 3) || (tag >> 3) > 0x1fffffff)
			goto bad;
		if ((tag >> 3) > 2) {
			if (!pbw_skip(&r, tag & 7, (uint32_t)(tag >> 3), 0))
				goto bad;
			continue;
		}
		if ((tag & 7) != PBW_VARINT || !pbw_read_varint(&r, &v))
			goto bad;
		if ((tag >> 3) == 1)
			secs = (int64_t)v;
		else
			nanos = (int32_t)(uint32_t)v;
	}
	if (ts) {
		int y, m, d;
		int64_t days, rem;

		if (secs < TS_MIN || secs > TS_MAX || nanos < 0 || nanos >= NANOS)
			goto range;
		days = (secs >= 0 ? secs : secs - 86399) / 86400;
		rem = secs - days * 86400;
		civil_from_days(days, &y, &m, &d);
		fraction_print(frac, sizeof(frac), nanos);
		snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d%sZ", y, m, d,
			 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
	} else {
		if (secs < -DUR_MAX || secs > DUR_MAX || nanos <= -NANOS || nanos >= NANOS ||
		    (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0))
			goto range;
		fraction_print(frac, sizeof(frac), nanos < 0 ? -nanos : nanos);
		snprintf(s, sizeof(s), "%s%" PRId64 "%ss", secs < 0 || nanos < 0 ? "-" : "",
			 secs < 0 ? -secs : secs, frac);
	}
	*out = json_string(s);
	return *out ? 0 : -ENOMEM;
bad:
	snprintf(err, PBJSON_ERR_MAX, "%s is malformed", name);
	return -EINVAL;
range:
	snprintf(err, PBJSON_ERR_MAX, "%s (%" PRId64 " s, %" PRId32 " ns) is out of range",
		 name, secs, nanos);
	return -EINVAL;
}
