/*
 * Frames in shared memory, end to end (omvd + camsim + libomvclient):
 * descriptors passed with their lines and paired in order, one sealed
 * memfd per frame and encoding shared by every client that asked for it,
 * the same bytes as base64 clients get, a mapping a client cannot change
 * and that stays valid after omvd moved on, read_frame with shm, a slow
 * shm client bounded, and no descriptor left behind in omvd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "omvclient.h"

#define WAIT_MS 10000
#define W 96
#define H 72

static struct h_proc omvd;

static const char *start(void)
{
	const char *sim_args[] = { "--fps", "30", NULL };

	h_start_camsim(sim_args);
	omvd = h_start_omvd(NULL, true);
	return h_path("omvd.sock");
}

static omv_client *connect_to(const char *sock)
{
	omv_client *c = omv_client_new();

	CHECK(c != NULL);
	CHECKF(omv_client_connect(c, sock) == 0, "%s", omv_client_error_message(c));
	return c;
}

static void stream_raw(omv_client *c)
{
	CHECKF(omv_client_streaming(c, true, true, W, H) == 0, "%s", omv_client_error_message(c));
}

/* Descriptors open in a process. */
static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The inode of the file mapped at addr (/proc/self/maps), 0 if none. */
static unsigned long mapped_inode(const void *addr, char *name, size_t cap)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long ino = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long lo, hi, off, inode;
		char perms[8], dev[16], path[256] = "";

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %255[^\n]", &lo, &hi, perms, &off, dev,
			   &inode, path) < 6)
			continue;
		if ((unsigned long)addr >= lo && (unsigned long)addr < hi) {
			ino = inode;
			snprintf(name, cap, "%s", path + strspn(path, " "));
			CHECKF(strchr(perms, 'w') == NULL, "mapping is writable: %s", perms);
			break;
		}
	}
	fclose(f);
	return ino;
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, 1);
}

/* Writing to the frame's bytes faults and changes nothing. */
static bool write_faults(const omv_frame *f)
{
	struct sigaction sa = { .sa_handler = on_fault }, old_segv, old_bus;
	volatile bool faulted = false;
	unsigned char before = f->data[0];

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(fault_jmp, 1) == 0)
		((volatile unsigned char *)f->data)[0] = (unsigned char)(before + 1);
	else
		faulted = true;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted && f->data[0] == before;
}

/* ---- subscribers ---------------------------------------------------- */

#define KEEP 12

struct sub {
	omv_frame *f[KEEP];	/* references kept */
	int count;
};

static void on_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct sub *s = arg;

	if (s->count < KEEP && f->data != NULL)
		s->f[s->count++] = omv_frame_ref(f);
}

static void pump(omv_client **c, int n, bool (*done)(void *), void *arg)
{
	uint64_t deadline = h_now_ms() + WAIT_MS;

	while (!done(arg)) {
		struct pollfd pfd[8];

		CHECKF(h_now_ms() < deadline, "timed out");
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = omv_client_fd(c[i]), .events = POLLIN };
		CHECK(poll(pfd, (nfds_t)n, 200) >= 0);
		for (int i = 0; i < n; i++)
			if (pfd[i].revents)
				CHECKF(omv_client_process(c[i]) == 0, "%s",
				       omv_client_error_message(c[i]));
	}
}

static bool all_full(void *arg)
{
	struct sub *s = arg;

	return s[0].count == KEEP && s[1].count == KEEP && s[2].count == KEEP;
}

/* Two shm subscribers and one base64 subscriber of RGB888 with a raw
 * stream: the same bytes, one memfd per frame shared by both shm
 * clients, read-only, descriptors closed by the library. */
static void test_deliver(void)
{
	static const char *const topics[] = { "frame", NULL };
	const char *sock = start();
	omv_client *c[3];
	struct sub s[3];
	int fds_before = count_fds(getpid());

	memset(s, 0, sizeof s);
	for (int i = 0; i < 3; i++) {
		c[i] = connect_to(sock);
		omv_client_on_frame(c[i], on_frame, &s[i]);
	}
	CHECK(omv_client_subscribe_shm(c[0], topics, "rgb888") == 0);
	CHECK(omv_client_subscribe_shm(c[1], topics, "rgb888") == 0);
	CHECK(omv_client_subscribe(c[2], topics, "rgb888") == 0);
	stream_raw(c[0]);
	pump(c, 3, all_full, s);

	for (int k = 0; k < KEEP; k++) {
		omv_frame *a = s[0].f[k], *b = NULL, *base = NULL;
		char name_a[256], name_b[256];

		for (int j = 0; j < KEEP; j++) {
			if (s[1].f[j]->number == a->number)
				b = s[1].f[j];
			if (s[2].f[j]->number == a->number)
				base = s[2].f[j];
		}
		CHECK(a->shm && strcmp(a->encoding, "rgb888") == 0);
		CHECK(a->timestamp > 0 && a->raw_size > 0);
		if (a->width != W)
			continue;	/* a JPEG frame from before the switch */
		CHECK(a->len == (size_t)W * H * 3);
		CHECK(write_faults(a));
		if (b != NULL) {
			/* the same memfd, mapped twice in this process */
			unsigned long ia = mapped_inode(a->data, name_a, sizeof name_a);
			unsigned long ib = mapped_inode(b->data, name_b, sizeof name_b);

			CHECK(ia != 0 && ia == ib);
			CHECKF(strstr(name_a, "memfd:omvd-frame") != NULL, "%s", name_a);
			CHECK(a->data != b->data);
		}
		if (base != NULL) {
			CHECK(!base->shm && base->len == a->len);
			CHECK(memcmp(base->data, a->data, a->len) == 0);
			CHECK(base->timestamp == a->timestamp && base->fps == a->fps);
		}
	}
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < s[i].count; k++)
			omv_frame_free(s[i].f[k]);
		omv_client_free(c[i]);
	}
	/* every descriptor received was closed (the mappings are gone too) */
	CHECKF(count_fds(getpid()) == fds_before, "%d fds, %d before", count_fds(getpid()),
	       fds_before);
}

/* ---- sealing, read_frame, lifetime ---------------------------------- */

/* A descriptor from read_frame {shm: true}: sealed, nothing a client does
 * changes it. */
static void test_sealed(void)
{
	const char *sock = start();
	omv_client *c = connect_to(sock);
	uint64_t deadline = h_now_ms() + WAIT_MS;
	json_t *res = NULL, *shm;
	struct stat st;
	int fd, seals;
	json_int_t size;

	stream_raw(c);
	for (;;) {
		json_t *p = json_pack("{s:s, s:b}", "format", "rgb888", "shm", 1);

		CHECK(omv_client_call(c, "read_frame", p, &res) == 0);
		json_decref(p);
		if (!json_is_null(res) && json_integer_value(json_object_get(res, "width")) == W)
			break;
		json_decref(res);
		CHECK(h_now_ms() < deadline);
		CHECK(omv_client_wait(c, 20) >= 0);
	}
	shm = json_object_get(res, "shm");
	CHECK(json_is_object(shm) && json_object_get(res, "data") == NULL);
	CHECK(strcmp(json_string_value(json_object_get(res, "encoding")), "rgb888") == 0);
	size = json_integer_value(json_object_get(shm, "size"));
	CHECK(size == W * H * 3);
	fd = (int)json_integer_value(json_object_get(res, "fd"));
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(fstat(fd, &st) == 0 && st.st_size == size);
	seals = fcntl(fd, F_GET_SEALS);
	CHECK((seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
	      (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	CHECK(write(fd, "x", 1) < 0 && errno == EPERM);
	CHECK(ftruncate(fd, 0) < 0 && errno == EPERM);
	CHECK(ftruncate(fd, size * 2) < 0 && errno == EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) < 0 && errno == EPERM);
	CHECK(mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	close(fd);
	json_decref(res);
	omv_client_free(c);
}

/* read_frame_shm in every encoding. */
static void test_read_frame(void)
{
	static const char *const formats[] = { "jpeg", "rgb888", "native" };
	const char *sock = start();
	omv_client *c = connect_to(sock);
	int fds_before = count_fds(getpid());

	stream_raw(c);
	for (int i = 0; i < 3; i++) {
		uint64_t deadline = h_now_ms() + WAIT_MS;
		omv_frame *f = NULL;

		for (;;) {
			CHECKF(omv_client_read_frame_shm(c, formats[i], &f) == 0, "%s",
			       omv_client_error_message(c));
			if (f != NULL && f->width == W)
				break;
			omv_frame_free(f);
			CHECK(h_now_ms() < deadline);
			CHECK(omv_client_wait(c, 20) >= 0);
		}
		CHECK(f->shm && strcmp(f->encoding, formats[i]) == 0);
		if (i == 0)
			CHECK(f->len > 2 && f->data[0] == 0xFF && f->data[1] == 0xD8);
		else
			CHECK(f->len == (size_t)W * H * (i == 1 ? 3 : 2));
		if (i == 2)
			CHECK(f->raw_size == f->len);
		CHECK(write_faults(f));
		omv_frame_free(f);
	}
	omv_client_free(c);
	CHECK(count_fds(getpid()) == fds_before - 1);	/* the client's socket */
}

struct late {
	omv_frame *first;
	unsigned char *copy;
	uint64_t last;
};

static void on_late(omv_client *c, const omv_frame *f, void *arg)
{
	struct late *l = arg;

	if (f->data == NULL || f->width != W)
		return;
	if (l->first == NULL) {
		l->first = omv_frame_ref(f);
		l->copy = malloc(f->len);
		memcpy(l->copy, f->data, f->len);
	}
	l->last = f->number;
}

static bool moved_on(void *arg)
{
	struct late *l = arg;

	return l->first != NULL && l->last >= l->first->number + 30;
}

/* A frame kept while omvd moves on 30 frames (and closes its own fd of
 * it): the mapping stays valid and unchanged. Then every client goes,
 * and omvd holds no more descriptors than before. */
static void test_lifetime(void)
{
	static const char *const topics[] = { "frame", NULL };
	const char *sock = start();
	omv_client *c = connect_to(sock), *r;
	struct late l = { 0 };
	uint64_t deadline;
	omv_frame *f;
	bool up;
	int daemon_fds;

	/* once c was answered, omvd has accepted it: its count without c */
	CHECK(omv_client_is_connected(c, &up) == 0 && up);
	daemon_fds = count_fds(omvd.pid) - 1;
	r = connect_to(sock);

	omv_client_on_frame(c, on_late, &l);
	CHECK(omv_client_subscribe_shm(c, topics, "rgb888") == 0);
	stream_raw(r);
	pump(&c, 1, moved_on, &l);
	for (int i = 0; i < 20; i++) {	/* pollers too, in two encodings */
		CHECK(omv_client_read_frame_shm(r, i % 2 ? "rgb888" : "native", &f) == 0);
		omv_frame_free(f);
		CHECK(omv_client_wait(r, 10) >= 0);
	}
	CHECK(memcmp(l.first->data, l.copy, l.first->len) == 0);
	CHECK(l.first->data[8 * W * 3] == l.copy[8 * W * 3]);
	omv_client_free(c);
	omv_client_free(r);
	/* the kept frame outlives its connection too */
	CHECK(memcmp(l.first->data, l.copy, l.first->len) == 0);
	omv_frame_free(l.first);
	free(l.copy);

	/* omvd keeps its newest frame (and the memfds made of it) until the
	 * next one: a client without shm takes two frames more. */
	r = connect_to(sock);
	stream_raw(r);
	for (uint64_t first = 0, n = 0; first == 0 || n < first + 2;) {
		CHECK(omv_client_read_frame(r, "native", &f) == 0);
		if (f != NULL) {
			n = f->number;
			first = first ? first : n;
			omv_frame_free(f);
		}
		CHECK(omv_client_wait(r, 10) >= 0);
	}
	deadline = h_now_ms() + WAIT_MS;
	while (count_fds(omvd.pid) > daemon_fds + 1) {	/* r's socket */
		CHECKF(h_now_ms() < deadline, "omvd has %d descriptors, %d before",
		       count_fds(omvd.pid), daemon_fds + 1);
		usleep(10000);	/* polling a count in another process */
	}
	omv_client_free(r);
}

struct slow {
	uint64_t stalled_until;		/* the newest frame while it did not read */
	int old, fresh;			/* frames received up to / after it */
	uint64_t last;
	bool in_order;
};

static void on_slow(omv_client *c, const omv_frame *f, void *arg)
{
	struct slow *s = arg;

	if (f->number <= s->stalled_until)
		s->old++;
	else
		s->fresh++;
	s->in_order = s->in_order && f->number > s->last;
	s->last = f->number;
}

static bool got_fresh(void *arg)
{
	return ((struct slow *)arg)->fresh >= 5;
}

/* A shm subscriber that does not read while 60 frames pass: omvd holds
 * few descriptors for it and puts few frames in its socket (each would
 * keep a frame's memory alive), and it gets new frames once it reads. */
static void test_slow(void)
{
	static const char *const topics[] = { "frame", NULL };
	const char *sock = start();
	omv_client *slow = connect_to(sock), *r = connect_to(sock);
	int daemon_fds, peak = 0;
	bool up;
	struct slow s = { .in_order = true };
	uint64_t first = 0, n = 0;
	omv_frame *f;

	omv_client_on_frame(slow, on_slow, &s);
	CHECK(omv_client_subscribe_shm(slow, topics, "native") == 0);
	CHECK(omv_client_is_connected(r, &up) == 0 && up);	/* both accepted */
	daemon_fds = count_fds(omvd.pid);
	stream_raw(r);
	while (first == 0 || n < first + 60) {
		CHECK(omv_client_read_frame(r, "native", &f) == 0);
		if (f != NULL) {
			n = f->number;
			first = first ? first : n;
			omv_frame_free(f);
		}
		if (count_fds(omvd.pid) > peak)
			peak = count_fds(omvd.pid);
		CHECK(omv_client_wait(r, 10) >= 0);
	}
	/* its output queue holds at most 8 descriptors; each frame in flight
	 * one memfd more, freed with the frame once nobody holds it */
	CHECKF(peak <= daemon_fds + 8 + 6, "omvd peaked at %d descriptors (%d before)", peak,
	       daemon_fds);
	s.stalled_until = n;
	pump(&slow, 1, got_fresh, &s);
	fprintf(stderr, "slow: %d of 60 frames kept, omvd peaked at %d descriptors (%d before)\n",
		s.old, peak, daemon_fds);
	CHECKF(s.old < 30, "%d of the 60 frames it did not read were kept for it", s.old);
	CHECK(s.in_order);
	omv_client_free(slow);
	omv_client_free(r);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "deliver", test_deliver },
	{ "sealed", test_sealed },
	{ "read-frame", test_read_frame },
	{ "lifetime", test_lifetime },
	{ "slow", test_slow },
};

int main(int argc, char **argv)
{
	CHECKF(argc == 2, "usage: %s CASE", argv[0]);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
			return 0;
		}
	}
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}
