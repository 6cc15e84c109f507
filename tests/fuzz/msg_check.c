/*
 * Every payload decoder of protocol/msg.h on one byte string: each either
 * refuses it, or accepts it exactly when its documented size rule holds
 * and then survives a round trip (encode what was decoded, decode again,
 * same values; same bytes where the layout has no reserved room).
 */
#include "msg_check.h"

#include <string.h>

#include "fuzz.h"
#include "protocol/msg.h"

#define MUST(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail("%s:%d: %s (payload of %zu bytes)", __FILE__, __LINE__, #cond, n); \
	} while (0)

static void caps(const uint8_t *p, size_t n)
{
	struct omv_caps c, d;
	uint8_t out[OMV_CAPS_SIZE];

	MUST((omv_caps_decode(&c, p, n) == 0) == (n == OMV_CAPS_SIZE));
	if (n != OMV_CAPS_SIZE)
		return;
	omv_caps_encode(&c, out);
	MUST(omv_caps_decode(&d, out, sizeof out) == 0);
	MUST(c.crc == d.crc && c.seq == d.seq && c.ack == d.ack && c.events == d.events &&
	     c.max_payload == d.max_payload);
	MUST(memcmp(out + 4, p + 4, 2) == 0);
}

static void version(const uint8_t *p, size_t n)
{
	struct omv_version v;
	uint8_t out[OMV_VERSION_SIZE];

	MUST((omv_version_decode(&v, p, n) == 0) == (n == OMV_VERSION_SIZE));
	if (n != OMV_VERSION_SIZE)
		return;
	omv_version_encode(&v, out);
	MUST(memcmp(out, p, 9) == 0);
}

static void sysinfo(const uint8_t *p, size_t n)
{
	struct omv_sysinfo s, t;
	uint8_t out[OMV_SYSINFO_SIZE];

	memset(&s, 0, sizeof s);
	memset(&t, 0, sizeof t);
	MUST((omv_sysinfo_decode(&s, p, n) == 0) == (n >= OMV_SYSINFO_SIZE));
	if (n < OMV_SYSINFO_SIZE)
		return;
	omv_sysinfo_encode(&s, out);
	MUST(omv_sysinfo_decode(&t, out, sizeof out) == 0);
	MUST(memcmp(&s, &t, sizeof s) == 0);
	MUST(memcmp(out, p, 32) == 0 && memcmp(out + 40, p + 40, 24) == 0);
	MUST(omv_sysinfo_pmu_eventcnt(&s) <= 255);
}

static void stats(const uint8_t *p, size_t n)
{
	struct omv_proto_stats s;
	uint8_t out[OMV_STATS_SIZE];

	MUST((omv_stats_decode(&s, p, n) == 0) == (n == OMV_STATS_SIZE));
	if (n != OMV_STATS_SIZE)
		return;
	omv_stats_encode(&s, out);
	MUST(memcmp(out, p, sizeof out) == 0);
}

static void channel_list(const uint8_t *p, size_t n)
{
	struct omv_channel_info ch[OMV_CHANNELS_MAX], again[OMV_CHANNELS_MAX];
	uint8_t out[OMV_CHANNELS_MAX * OMV_CHANNEL_ENTRY_SIZE];
	size_t count = 0, count2 = 0;
	bool shaped = n % OMV_CHANNEL_ENTRY_SIZE == 0 &&
		      n / OMV_CHANNEL_ENTRY_SIZE <= OMV_CHANNELS_MAX;
	bool named = true;

	for (size_t i = 0; shaped && i < n / OMV_CHANNEL_ENTRY_SIZE; i++)
		named &= memchr(p + i * OMV_CHANNEL_ENTRY_SIZE + 2, 0,
				OMV_CHANNEL_NAME_MAX + 1) != NULL;
	MUST((omv_channel_list_decode(ch, OMV_CHANNELS_MAX, &count, p, n) == 0) ==
	     (shaped && named));
	if (!shaped || !named)
		return;
	MUST(count == n / OMV_CHANNEL_ENTRY_SIZE);
	for (size_t i = 0; i < count; i++) {
		MUST(strlen(ch[i].name) <= OMV_CHANNEL_NAME_MAX);
		MUST(strcmp(ch[i].name, (const char *)p + i * OMV_CHANNEL_ENTRY_SIZE + 2) == 0);
	}
	MUST(omv_channel_list_encode(ch, count, out, sizeof out) == n);
	MUST(omv_channel_list_decode(again, OMV_CHANNELS_MAX, &count2, out, n) == 0);
	MUST(count2 == count);
	for (size_t i = 0; i < count; i++)
		MUST(again[i].id == ch[i].id && again[i].flags == ch[i].flags &&
		     strcmp(again[i].name, ch[i].name) == 0);
}

static void shape(const uint8_t *p, size_t n)
{
	struct omv_shape s;
	uint8_t out[4 * OMV_SHAPE_MAX];
	uint32_t v;
	bool ok = n > 0 && n % 4 == 0 && n <= sizeof out;

	MUST((omv_u32_decode(&v, p, n) == 0) == (n == 4));
	MUST((omv_shape_decode(&s, p, n) == 0) == ok);
	if (!ok)
		return;
	MUST(s.ndim == n / 4);
	MUST(omv_shape_encode(&s, out) == n && memcmp(out, p, n) == 0);
}

static void requests(const uint8_t *p, size_t n)
{
	uint32_t off, len, req;
	const uint8_t *data;
	size_t arg_len;
	uint8_t out[OMV_READ_REQ_SIZE];

	MUST((omv_read_req_decode(&off, &len, p, n) == 0) == (n == OMV_READ_REQ_SIZE));
	if (n == OMV_READ_REQ_SIZE) {
		omv_read_req_encode(off, len, out);
		MUST(memcmp(out, p, n) == 0);
	}
	if (omv_write_req_decode(&off, &data, &len, p, n) == 0) {
		MUST(n >= OMV_WRITE_HDR_SIZE && data == p + OMV_WRITE_HDR_SIZE &&
		     len == n - OMV_WRITE_HDR_SIZE);
	} else {
		MUST(n < OMV_WRITE_HDR_SIZE || omv_get_u32(p + 4) != n - OMV_WRITE_HDR_SIZE);
	}
	MUST((omv_ioctl_req_decode(&req, &data, &arg_len, p, n) == 0) == (n >= 4));
	if (n >= 4) {
		int size = omv_ioctl_arg_size(p[0], req);

		MUST(data == p + 4 && arg_len == n - 4);
		MUST(size == -1 || size == 0 || size == 4 || size == 8);
	}
}

static void frame_hdr(const uint8_t *p, size_t n)
{
	struct omv_frame_hdr h;

	if (omv_frame_hdr_decode(&h, p, n) < 0)
		return;
	/* What msg.h promises of a header it accepts. */
	MUST(n >= OMV_FRAME_HDR_MIN);
	MUST(h.width >= 1 && h.width <= 16384 && h.height >= 1 && h.height <= 16384);
	MUST(h.offset >= OMV_FRAME_HDR_MIN && h.offset <= n);
	MUST(omv_frame_pixel_bytes(&h) <= n - h.offset);
	MUST(h.width == omv_get_u32(p) && h.height == omv_get_u32(p + 4) &&
	     h.pixformat == omv_get_u32(p + 8) && h.size == omv_get_u32(p + 12) &&
	     h.offset == omv_get_u32(p + 16));
}

static void profile(const uint8_t *p, size_t n)
{
	struct omv_profile_record r, again;
	uint8_t out[sizeof r.events + 64];

	for (unsigned nev = 0; nev <= OMV_PROFILE_EVENTS_MAX + 1; nev++) {
		size_t size = omv_profile_record_size(nev);
		bool ok = nev <= OMV_PROFILE_EVENTS_MAX && n >= size;

		MUST((omv_profile_record_decode(&r, nev, p, n) == 0) == ok);
		if (!ok)
			continue;
		MUST(r.nevents == nev);
		omv_profile_record_encode(&r, out);
		MUST(memcmp(out, p, size - 4) == 0);
		MUST(omv_profile_record_decode(&again, nev, out, size) == 0);
		MUST(again.address == r.address && again.caller == r.caller &&
		     again.call_count == r.call_count && again.min_ticks == r.min_ticks &&
		     again.max_ticks == r.max_ticks && again.total_ticks == r.total_ticks &&
		     again.total_cycles == r.total_cycles && again.nevents == r.nevents &&
		     memcmp(again.events, r.events, nev * sizeof r.events[0]) == 0);
	}
}

void msg_check_all(const uint8_t *p, size_t n)
{
	caps(p, n);
	version(p, n);
	sysinfo(p, n);
	stats(p, n);
	channel_list(p, n);
	shape(p, n);
	requests(p, n);
	frame_hdr(p, n);
	profile(p, n);
}
