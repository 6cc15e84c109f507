/*
 * Frames to clients (see rpc_frames.h). Everything here runs on the loop
 * except job_run(), which runs on a worker and touches nothing but its job
 * and the (thread-safe) frame.
 *
 * A post (struct frame_post) is one frame's objects, one per key
 * (encoding x transport), built by jobs. The object text is shared by
 * reference between the notification lines of every subscriber and the
 * replies of every poller (rpc_client_send_parts): once built, sending it
 * costs the loop no copy. Posts of frames for subscribers wait in the
 * fan-out queue and leave it in order, once their objects are built. A
 * read_frame call is a reader: it waits for its key's object, and is
 * answered with it by reference, or (when replies before it are pending)
 * with a copy a job makes.
 *
 * Keys that clients polled lately are built for every new frame as if
 * subscribed, so that a poller's next read_frame finds its object ready.
 */
#include "rpc_frames.h"

#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "frame_codec.h"
#include "frame_text.h"
#include "log.h"
#include "rpc.h"
#include "rpc_client.h"
#include "rpc_server.h"
#include "work_pool.h"

#define WORKERS_MAX 4
/* Frames waiting for their objects before subscribers get them: more
 * means the workers fall behind the cam, and the oldest go (newest wins).
 * Each holds its frame (half a second of video at 30 frames/s). */
#define FANOUT_MAX 16
/* A shared-memory line is small but its memfd holds a whole frame: a
 * client that does not read gets no more lines once this much it has not
 * read waits in its socket (a few lines), so it pins few frames. */
#define SHM_UNREAD_MAX 8192
/* A key read_frame asked for within this long is prepared for new frames. */
#define POLL_KEEP_MS 2000

enum { VIA_DATA, VIA_SHM, VIA_COUNT };
#define NKEYS (FRAME_ENC_COUNT * VIA_COUNT)
#define BIT(key) (1u << (key))

static unsigned key_of(enum frame_encoding enc, bool shm)
{
	return (unsigned)enc * VIA_COUNT + (shm && enc != FRAME_ENC_NONE ? VIA_SHM : VIA_DATA);
}

static enum frame_encoding key_enc(unsigned key)
{
	return (enum frame_encoding)(key / VIA_COUNT);
}

static bool key_shm(unsigned key)
{
	return key % VIA_COUNT == VIA_SHM;
}

struct job;

struct frame_post {
	unsigned refs;
	struct frame *f;
	struct shared_line *obj[NKEYS];	/* frame object texts, once built */
	unsigned building;		/* keys a job is making */
	unsigned failed;		/* keys that could not be made */
	TAILQ_HEAD(, reader) readers;	/* waiting for another job's object */
	unsigned fanout_keys;		/* what the subscribers wanted */
	struct job *fanout_job;		/* until it finished */
	TAILQ_ENTRY(frame_post) link;	/* in the fan-out queue */
};

struct reader {
	TAILQ_ENTRY(reader) link;
	struct rpc_call *call;		/* NULL once its client went away */
	struct frame_post *post;	/* while waiting in it */
	unsigned key;
};

struct job {
	struct work work;
	struct rpc_frames *fr;
	struct frame_post *post;	/* a reference */
	struct frame *f;		/* post->f, all the worker reads of it */
	unsigned keys;			/* objects to build */
	struct shared_line *built[NKEYS];
	/* a reply to copy, for a reader whose reply must wait in its slot */
	struct reader *reader;
	const struct shared_line *src;	/* its object (the post holds it) */
	char *id;			/* its call's id as JSON text */
	char *reply;
	size_t reply_len;
};

struct rpc_frames {
	struct rpc_server *server;
	struct work_pool *pool;
	unsigned workers;
	struct frame_post *latest;	/* the newest frame's, for read_frame */
	TAILQ_HEAD(, frame_post) fanout;
	unsigned fanout_len;
	uint64_t polled_ms[NKEYS];	/* when read_frame last asked for a key */
};

static void post_kick(struct rpc_frames *fr, struct frame_post *p);
static void reader_cancel(struct rpc_call *call);
static void fanout_flush(struct rpc_frames *fr);

/* ---- posts ---- */

static struct frame_post *post_new(struct frame *f)
{
	struct frame_post *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	p->refs = 1;
	p->f = frame_ref(f);
	TAILQ_INIT(&p->readers);
	return p;
}

static struct frame_post *post_ref(struct frame_post *p)
{
	p->refs++;
	return p;
}

static void post_unref(struct frame_post *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	for (unsigned k = 0; k < NKEYS; k++)
		shared_line_unref(p->obj[k]);
	frame_unref(p->f);
	free(p);
}

/* The post of f: the latest one, or a new one that becomes the latest. */
static struct frame_post *post_of(struct rpc_frames *fr, struct frame *f)
{
	struct frame_post *p;

	if (fr->latest != NULL && fr->latest->f == f)
		return fr->latest;
	p = post_new(f);
	if (p == NULL)
		return NULL;
	post_unref(fr->latest);
	fr->latest = p;
	return p;
}

/* The memfd an object of this key names, or -1 when it has none (not
 * shared memory, or the frame has no data in that encoding). */
static int shm_fd(struct frame_post *p, unsigned key)
{
	const struct frame_image *img = frame_image_ready(p->f, key_enc(key));

	return key_shm(key) && img != NULL ? img->shm_fd : -1;
}

/* ---- jobs ---- */

static void job_run(struct work *w, void *thread_ctx)
{
	struct job *j = (struct job *)w;
	struct frame_codec *codec = thread_ctx;

	for (unsigned k = 0; k < NKEYS; k++)
		if (j->keys & BIT(k))
			j->built[k] = frame_text_object(j->f, key_enc(k), key_shm(k), codec);
	if (j->src != NULL)
		j->reply = frame_text_reply(j->src, j->id, &j->reply_len);
}

static void job_done(struct work *w, bool cancelled);

/* A job building keys of p, or copying a reader's reply (reader set:
 * its object src exists). */
static struct job *job_new(struct rpc_frames *fr, struct frame_post *p, unsigned keys,
			   struct reader *rd)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	if (rd != NULL) {
		j->id = json_dumps(rd->call->id, JSON_COMPACT | JSON_ENCODE_ANY);
		if (j->id == NULL) {
			free(j);
			return NULL;
		}
		j->src = p->obj[rd->key];
	}
	j->work.run = job_run;
	j->work.done = job_done;
	j->fr = fr;
	j->post = post_ref(p);
	j->f = p->f;
	j->keys = keys;
	j->reader = rd;
	p->building |= keys;
	work_submit(fr->pool, &j->work);
	return j;
}

/* Ends a reader's call (if its client is still there): with reply (taken)
 * and fd, or with an error when reply is NULL. */
static void reader_end(struct reader *rd, char *reply, size_t len, int fd, const char *why)
{
	struct rpc_call *call = rd->call;

	free(rd);
	if (call == NULL) {
		free(reply);
		return;
	}
	call->on_cancel = NULL;
	call->wait = NULL;
	if (reply != NULL)
		call_reply_line(call, reply, len, fd);
	else
		call_error(call, RPC_INTERNAL_ERROR, why, NULL);
}

/* The reader's object exists: it is the reply, sent by reference when it
 * can go at once, else copied into a reply line by a job. */
static void reader_answer(struct rpc_frames *fr, struct frame_post *p, struct reader *rd)
{
	struct rpc_call *call = rd->call;

	/* Sent, the call is gone: it must not point at the reader then. */
	call->on_cancel = NULL;
	call->wait = NULL;
	if (call_result_shared(call, p->obj[rd->key], shm_fd(p, rd->key))) {
		free(rd);
		return;
	}
	call->on_cancel = reader_cancel;
	call->wait = rd;
	if (job_new(fr, p, 0, rd) == NULL)
		reader_end(rd, NULL, 0, -1, "out of memory");
}

static void job_done(struct work *w, bool cancelled)
{
	struct job *j = (struct job *)w;
	struct rpc_frames *fr = j->fr;
	struct frame_post *p = j->post;

	for (unsigned k = 0; k < NKEYS; k++) {
		if (!(j->keys & BIT(k)))
			continue;
		if (j->built[k] != NULL && p->obj[k] == NULL)
			p->obj[k] = j->built[k];
		else
			shared_line_unref(j->built[k]);
		if (p->obj[k] == NULL && !cancelled)
			p->failed |= BIT(k);
	}
	p->building &= ~j->keys;
	if (p->fanout_job == j)
		p->fanout_job = NULL;
	if (j->reader != NULL)
		reader_end(j->reader, j->reply, j->reply_len, shm_fd(p, j->reader->key),
			   "out of memory building the frame");
	else
		free(j->reply);
	free(j->id);
	free(j);
	post_kick(fr, p);
	post_unref(p);
	fanout_flush(fr);
}

/* Readers waiting on a post whose objects changed: answer what can be;
 * a key whose job was taken back is built again. */
static void post_kick(struct rpc_frames *fr, struct frame_post *p)
{
	struct reader *rd, *next;

	for (rd = TAILQ_FIRST(&p->readers); rd != NULL; rd = next) {
		unsigned bit = BIT(rd->key);

		next = TAILQ_NEXT(rd, link);
		if (p->building & bit)
			continue;
		if (p->obj[rd->key] == NULL && !(p->failed & bit) &&
		    job_new(fr, p, bit, NULL) != NULL)
			continue;
		TAILQ_REMOVE(&p->readers, rd, link);
		rd->post = NULL;
		if (p->obj[rd->key] != NULL)
			reader_answer(fr, p, rd);
		else
			reader_end(rd, NULL, 0, -1, "out of memory building the frame");
		post_unref(p);	/* the reader's; the caller holds another */
	}
}

/* ---- read_frame ---- */

static void reader_cancel(struct rpc_call *call)
{
	struct reader *rd = call->wait;

	/* Waiting in a post: gone at once. Attached to a job: the job still
	 * runs, its reply goes nowhere. */
	rd->call = NULL;
	if (rd->post != NULL) {
		TAILQ_REMOVE(&rd->post->readers, rd, link);
		post_unref(rd->post);
		reader_end(rd, NULL, 0, -1, NULL);
	}
}

void rpc_frames_read(struct rpc_frames *fr, struct rpc_call *call, struct frame *f,
		     enum frame_encoding enc, bool shm)
{
	struct frame_post *p = post_of(fr, f);
	unsigned key = key_of(enc, shm);
	struct reader *rd = p != NULL ? calloc(1, sizeof *rd) : NULL;

	if (rd == NULL) {
		call_error(call, RPC_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	fr->polled_ms[key] = clock_now_ms();
	rd->call = call;
	rd->key = key;
	call->wait = rd;
	call->on_cancel = reader_cancel;
	if (p->obj[key] != NULL) {
		reader_answer(fr, p, rd);
		return;
	}
	if (p->failed & BIT(key)) {
		reader_end(rd, NULL, 0, -1, "out of memory building the frame");
		return;
	}
	if (!(p->building & BIT(key)) && job_new(fr, p, BIT(key), NULL) == NULL) {
		reader_end(rd, NULL, 0, -1, "out of memory");
		return;
	}
	rd->post = post_ref(p);
	TAILQ_INSERT_TAIL(&p->readers, rd, link);
}

/* ---- subscribers ---- */

static bool subscribed(const struct rpc_client *c)
{
	return !c->closing && (c->topics & TOPIC_FRAME);
}

static unsigned client_key(const struct rpc_client *c)
{
	return key_of(c->frame_enc, c->frame_shm);
}

/* Room for a frame: in omvd's queue, and (each memfd holding a frame)
 * for shared memory in the socket too. */
static bool frame_room(const struct rpc_client *c, int fd)
{
	return rpc_client_has_room(c) && (fd < 0 || rpc_client_unread(c) <= SHM_UNREAD_MAX);
}

/* The frame's notification to one subscriber: now when it has room, else
 * the newest waits (for rpc_frames_client_room, or the next frame when it
 * is the socket that is full); the one it replaces is dropped. */
static void send_to(struct rpc_client *c, struct frame_post *p)
{
	unsigned key = client_key(c);
	int fd;

	if (p->obj[key] == NULL)
		return;	/* a format asked for after this frame came */
	fd = shm_fd(p, key);
	if (c->frame_waiting != NULL) {	/* this one is newer */
		post_unref(c->frame_waiting);
		c->frame_waiting = NULL;
		c->stats.frames_dropped++;
	}
	if (!frame_room(c, fd)) {
		c->frame_waiting = post_ref(p);
		c->out_full = true;	/* call us back when it drained */
		return;
	}
	if (rpc_client_send_parts(c, FRAME_TEXT_NOTE_HEAD, p->obj[key], FRAME_TEXT_NOTE_TAIL, fd))
		c->stats.frames_sent++;
	else
		c->stats.frames_dropped++;
}

static void deliver(struct rpc_frames *fr, struct frame_post *p)
{
	struct rpc_client *c;

	TAILQ_FOREACH(c, &fr->server->clients, link)
		if (subscribed(c))
			send_to(c, p);
}

void rpc_frames_client_room(struct rpc_client *c)
{
	struct frame_post *p = c->frame_waiting;

	if (p == NULL)
		return;
	if (!subscribed(c)) {
		rpc_frames_client_clear(c);
		return;
	}
	c->frame_waiting = NULL;
	send_to(c, p);
	post_unref(p);
}

void rpc_frames_client_clear(struct rpc_client *c)
{
	post_unref(c->frame_waiting);
	c->frame_waiting = NULL;
}

static void fanout_pop(struct rpc_frames *fr, struct frame_post *p)
{
	TAILQ_REMOVE(&fr->fanout, p, link);
	fr->fanout_len--;
	post_unref(p);
}

static void fanout_flush(struct rpc_frames *fr)
{
	struct frame_post *p;

	while ((p = TAILQ_FIRST(&fr->fanout)) != NULL && p->fanout_job == NULL &&
	       !(p->building & p->fanout_keys)) {
		deliver(fr, p);
		fanout_pop(fr, p);
	}
}

/* The oldest frame waiting for subscribers goes without being sent. */
static void fanout_drop_oldest(struct rpc_frames *fr)
{
	struct frame_post *p = TAILQ_FIRST(&fr->fanout);
	struct job *j = p->fanout_job;
	struct rpc_client *c;

	if (j != NULL && work_cancel(fr->pool, &j->work)) {
		p->building &= ~j->keys;
		p->fanout_job = NULL;
		post_unref(j->post);
		free(j);
		post_kick(fr, p);
	}
	TAILQ_FOREACH(c, &fr->server->clients, link)
		if (subscribed(c))
			c->stats.frames_dropped++;
	fanout_pop(fr, p);
}

void rpc_frames_publish(struct rpc_frames *fr, struct frame *f)
{
	uint64_t now = clock_now_ms();
	struct rpc_client *c;
	struct frame_post *p;
	unsigned keys = 0, polled = 0, missing;

	TAILQ_FOREACH(c, &fr->server->clients, link)
		if (subscribed(c))
			keys |= BIT(client_key(c));
	for (unsigned k = 0; k < NKEYS; k++)
		if (fr->polled_ms[k] != 0 && now - fr->polled_ms[k] < POLL_KEEP_MS)
			polled |= BIT(k);
	p = post_of(fr, f);
	if ((keys | polled) == 0 || p == NULL)
		return;
	if (keys != 0) {
		while (fr->fanout_len >= FANOUT_MAX)
			fanout_drop_oldest(fr);
		p->fanout_keys = keys;
		post_ref(p);
		TAILQ_INSERT_TAIL(&fr->fanout, p, link);
		fr->fanout_len++;
	}
	missing = (keys | polled) & ~p->building;
	for (unsigned k = 0; k < NKEYS; k++)
		if (p->obj[k] != NULL)
			missing &= ~BIT(k);
	if (missing != 0) {
		struct job *j = job_new(fr, p, missing, NULL);

		if (j == NULL)
			log_err("out of memory preparing frame %llu", (unsigned long long)f->number);
		else if (keys != 0)
			p->fanout_job = j;
	}
	fanout_flush(fr);
}

/* ---- life ---- */

static void *codec_new(void *arg)
{
	return frame_codec_new(*(size_t *)arg);
}

static void codec_free(void *ctx)
{
	frame_codec_free(ctx);
}

struct rpc_frames *rpc_frames_new(struct rpc_server *s, unsigned workers, size_t max_pixels)
{
	struct rpc_frames *fr = calloc(1, sizeof *fr);
	struct work_pool_ops ops = { codec_new, codec_free, &max_pixels };
	long cpus;

	if (fr == NULL)
		return NULL;
	if (workers == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		workers = cpus < 1 ? 1 : cpus > WORKERS_MAX ? WORKERS_MAX : (unsigned)cpus;
	}
	fr->server = s;
	fr->workers = workers;
	TAILQ_INIT(&fr->fanout);
	fr->pool = work_pool_new(s->base, workers, &ops);
	if (fr->pool == NULL) {
		free(fr);
		return NULL;
	}
	return fr;
}

void rpc_frames_free(struct rpc_frames *fr)
{
	if (fr == NULL)
		return;
	/* Finishes or cancels every job (their posts then go). */
	work_pool_free(fr->pool);
	while (!TAILQ_EMPTY(&fr->fanout))
		fanout_pop(fr, TAILQ_FIRST(&fr->fanout));
	post_unref(fr->latest);
	free(fr);
}
