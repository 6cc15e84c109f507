/*
 * Fault injection and link shaping between the pty and the cam state
 * machine, in both directions.
 *
 * Faults are decided per packet with a seeded splitmix64 generator (one
 * stream per direction), so a run is reproducible with --seed. Host input
 * is split into packets with a decoder of its own; bytes that do not parse
 * as packets pass through untouched. Shaping queues chunks with a due time
 * (write delay, serialisation at --link-rate, then --link-latency-us) and
 * delivers them in order from one libevent timer per direction. A glitch
 * holds everything in both directions until it ends (a cam busy elsewhere:
 * it neither reads nor writes, and nothing is lost).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "camsim.h"

struct chunk {
	TAILQ_ENTRY(chunk) link;
	uint64_t due_us;
	size_t len;
	uint8_t data[];
};

struct shaper {
	TAILQ_HEAD(, chunk) q;
	struct event *timer;
	uint64_t free_at_us;	/* when the link finishes the last chunk */
	unsigned delay_us;
	void (*deliver)(struct sim *s, const uint8_t *data, size_t len);
	struct sim *sim;
};

struct faults {
	uint64_t rng_out, rng_in;
	struct shaper out, in;
	uint64_t glitch_until_us;	/* silent both ways until then */
	unsigned glitch_armed_ms;	/* a glitch waiting for a mid-answer packet */
	/* splitting host input into packets */
	struct omv_decoder dec;
	uint8_t *dec_buf;
	uint8_t *pending;	/* bytes fed to dec, not yet passed on */
	size_t pending_len, pending_cap;
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static bool chance(uint64_t *rng, double p)
{
	if (p <= 0)
		return false;
	return (double)(splitmix64(rng) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static bool shaping(const struct sim *s)
{
	return s->o.link_rate || s->o.link_latency_us;
}

static void shaper_arm(struct shaper *sh)
{
	struct chunk *c = TAILQ_FIRST(&sh->q);
	uint64_t now = sim_now_us(), wait;
	struct timeval tv;

	if (!c)
		return;
	wait = c->due_us > now ? c->due_us - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	event_add(sh->timer, &tv);
}

static void shaper_fire(evutil_socket_t fd, short what, void *arg)
{
	struct shaper *sh = arg;
	uint64_t now = sim_now_us();
	struct chunk *c;

	while ((c = TAILQ_FIRST(&sh->q)) && c->due_us <= now) {
		TAILQ_REMOVE(&sh->q, c, link);
		sh->deliver(sh->sim, c->data, c->len);
		free(c);
		if (!sh->sim->plugged)
			break;	/* delivery unplugged us; flush already emptied q */
	}
	shaper_arm(sh);
}

static void shaper_push(struct shaper *sh, const uint8_t *data, size_t len)
{
	struct sim *s = sh->sim;
	uint64_t now = sim_now_us(), start, done;
	uint64_t glitch = s->faults->glitch_until_us;
	struct chunk *c;

	if (!sh->delay_us && !shaping(s) && TAILQ_EMPTY(&sh->q) && now >= glitch) {
		sh->deliver(s, data, len);
		return;
	}
	c = malloc(sizeof *c + len);
	if (!c)
		return;
	memcpy(c->data, data, len);
	c->len = len;
	start = now + sh->delay_us;
	if (start < sh->free_at_us)
		start = sh->free_at_us;
	if (start < glitch)
		start = glitch;
	done = start + (s->o.link_rate ? (uint64_t)len * 1000000u / s->o.link_rate : 0);
	sh->free_at_us = done;
	c->due_us = done + s->o.link_latency_us;
	TAILQ_INSERT_TAIL(&sh->q, c, link);
	if (TAILQ_FIRST(&sh->q) == c)
		shaper_arm(sh);
}

static void shaper_flush(struct shaper *sh)
{
	struct chunk *c;

	while ((c = TAILQ_FIRST(&sh->q))) {
		TAILQ_REMOVE(&sh->q, c, link);
		free(c);
	}
	sh->free_at_us = 0;
	if (sh->timer)
		event_del(sh->timer);
}

static void garbage(struct sim *s, uint64_t *rng, struct shaper *sh, uint64_t *count)
{
	uint8_t junk[16];
	size_t n = 1 + splitmix64(rng) % sizeof junk;

	for (size_t i = 0; i < n; i++)
		junk[i] = (uint8_t)splitmix64(rng);
	(*count)++;
	shaper_push(sh, junk, n);
}

/* One whole packet, its fate decided: dropped, corrupted, or passed. */
static void packet_fault(struct sim *s, uint64_t *rng, struct shaper *sh, const uint8_t *pkt,
			 size_t len, uint64_t *dropped, uint64_t *corrupted, uint64_t *garbaged)
{
	if (chance(rng, s->o.garbage_rate))
		garbage(s, rng, sh, garbaged);
	if (chance(rng, s->o.drop_rate)) {
		(*dropped)++;
		return;
	}
	if (len && chance(rng, s->o.corrupt_rate)) {
		uint8_t *copy = malloc(len);
		uint64_t bit = splitmix64(rng) % (len * 8);

		if (!copy)
			return;
		memcpy(copy, pkt, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		(*corrupted)++;
		shaper_push(sh, copy, len);
		free(copy);
		return;
	}
	shaper_push(sh, pkt, len);
}

static bool faulty(const struct sim *s)
{
	return s->o.drop_rate > 0 || s->o.corrupt_rate > 0 || s->o.garbage_rate > 0;
}

static void glitch_start(struct sim *s, unsigned ms)
{
	s->faults->glitch_until_us = sim_now_us() + (uint64_t)ms * 1000u;
	s->faults->glitch_armed_ms = 0;
	sim_log(s, "glitch: silent for %u ms", ms);
}

bool faults_silent(const struct sim *s)
{
	return sim_now_us() < s->faults->glitch_until_us;
}

void faults_glitch(struct sim *s, unsigned ms, bool now)
{
	if (now)
		glitch_start(s, ms);
	else
		s->faults->glitch_armed_ms = ms;
}

void faults_out(struct sim *s, const uint8_t *pkt, size_t len)
{
	struct faults *f = s->faults;

	s->n.out_packets++;
	packet_fault(s, &f->rng_out, &f->out, pkt, len, &s->n.out_dropped,
		     &s->n.out_corrupted, &s->n.out_garbage);
	if (f->glitch_armed_ms && len >= OMV_HDR_SIZE && (pkt[4] & OMV_F_FRAGMENT) &&
	    !(pkt[4] & OMV_F_EVENT))
		glitch_start(s, f->glitch_armed_ms);
}

static void pass_pending(struct faults *f, size_t n)
{
	if (!n)
		return;
	shaper_push(&f->in, f->pending, n);
	memmove(f->pending, f->pending + n, f->pending_len - n);
	f->pending_len -= n;
}

void faults_in(struct sim *s, const uint8_t *data, size_t len)
{
	struct faults *f = s->faults;
	struct omv_packet pkt;
	size_t off = 0;

	if (!faulty(s) && !f->pending_len) {
		shaper_push(&f->in, data, len);
		return;
	}
	f->dec.check_crc = s->cam.caps.crc;
	while (off < len) {
		size_t room = f->pending_cap - f->pending_len;
		size_t want = len - off < room ? len - off : room;
		size_t used = omv_decoder_feed(&f->dec, data + off, want);

		if (!used) {
			/* the splitter is stuck: let everything through as it is */
			pass_pending(f, f->pending_len);
			omv_decoder_reset(&f->dec);
			shaper_push(&f->in, data + off, len - off);
			return;
		}
		memcpy(f->pending + f->pending_len, data + off, used);
		f->pending_len += used;
		off += used;
		while (omv_decoder_next(&f->dec, &pkt)) {
			/* the packet is the tail of what was fed; before it, skipped bytes */
			size_t raw_len = pkt.raw_len;

			pass_pending(f, f->pending_len - raw_len);
			s->n.in_packets++;
			packet_fault(s, &f->rng_in, &f->in, f->pending, raw_len,
				     &s->n.in_dropped, &s->n.in_corrupted, &s->n.in_garbage);
			f->pending_len = 0;
			if (!s->plugged)
				return;
		}
		/* what the decoder no longer holds is not part of a packet */
		if (f->pending_len > f->dec.len)
			pass_pending(f, f->pending_len - f->dec.len);
	}
}

static void deliver_out(struct sim *s, const uint8_t *data, size_t len)
{
	pty_write(s, data, len);
}

static void deliver_in(struct sim *s, const uint8_t *data, size_t len)
{
	device_input(s, data, len);
}

void faults_flush(struct sim *s)
{
	struct faults *f = s->faults;

	shaper_flush(&f->out);
	shaper_flush(&f->in);
	omv_decoder_reset(&f->dec);
	f->pending_len = 0;
	f->glitch_until_us = 0;
	f->glitch_armed_ms = 0;
}

int faults_set(struct sim *s, const char *name, double value)
{
	struct faults *f = s->faults;

	if (value < 0)
		return -1;
	if (!strcmp(name, "drop-rate") && value <= 1)
		s->o.drop_rate = value;
	else if (!strcmp(name, "corrupt-rate") && value <= 1)
		s->o.corrupt_rate = value;
	else if (!strcmp(name, "garbage-rate") && value <= 1)
		s->o.garbage_rate = value;
	else if (!strcmp(name, "delay-ms") && value <= 60000) {
		s->o.delay_ms = (unsigned)value;
		f->out.delay_us = s->o.delay_ms * 1000u;
	} else if (!strcmp(name, "link-rate") && value <= 1u << 30)
		s->o.link_rate = (unsigned)value;
	else if (!strcmp(name, "link-latency-us") && value <= 60000000)
		s->o.link_latency_us = (unsigned)value;
	else
		return -1;
	return 0;
}

static void shaper_init(struct sim *s, struct shaper *sh,
			void (*deliver)(struct sim *, const uint8_t *, size_t))
{
	TAILQ_INIT(&sh->q);
	sh->sim = s;
	sh->deliver = deliver;
	sh->timer = evtimer_new(s->base, shaper_fire, sh);
}

int faults_init(struct sim *s)
{
	struct faults *f = calloc(1, sizeof *f);
	size_t cap = OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT);

	if (!f)
		return -1;
	s->faults = f;
	f->rng_out = s->o.seed;
	f->rng_in = s->o.seed ^ 0x5DEECE66Dull;
	shaper_init(s, &f->out, deliver_out);
	shaper_init(s, &f->in, deliver_in);
	f->out.delay_us = s->o.delay_ms * 1000u;
	f->dec_buf = malloc(cap);
	f->pending_cap = 2 * cap;
	f->pending = malloc(f->pending_cap);
	if (!f->out.timer || !f->in.timer || !f->dec_buf || !f->pending)
		return -1;
	omv_decoder_init(&f->dec, f->dec_buf, cap, OMV_PAYLOAD_LIMIT, true);
	return 0;
}

void faults_free(struct sim *s)
{
	struct faults *f = s->faults;

	if (!f)
		return;
	shaper_flush(&f->out);
	shaper_flush(&f->in);
	if (f->out.timer)
		event_free(f->out.timer);
	if (f->in.timer)
		event_free(f->in.timer);
	free(f->dec_buf);
	free(f->pending);
	free(f);
	s->faults = NULL;
}
