/*
 * Child processes (camsim, omvd) and what /proc says about them: start,
 * stop, read a line of their stdout, resident memory and CPU time. Every
 * live child is killed if the bench exits early.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"

#define MAX_CHILDREN 8

static pid_t live[MAX_CHILDREN];

static void kill_live(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (live[i] > 0)
			kill(live[i], SIGKILL);
}

static void on_fatal_signal(int sig)
{
	kill_live();
	_exit(128 + sig);
}

static void track(pid_t pid, bool add)
{
	static bool hooked;

	if (!hooked) {
		hooked = true;
		atexit(kill_live);
		signal(SIGINT, on_fatal_signal);
		signal(SIGTERM, on_fatal_signal);
	}
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (add && live[i] == 0) {
			live[i] = pid;
			return;
		}
		if (!add && live[i] == pid) {
			live[i] = 0;
			return;
		}
	}
}

int child_spawn(struct child *c, char *const argv[], bool capture, bool quiet)
{
	int pfd[2] = { -1, -1 };

	c->pid = -1;
	c->out_fd = -1;
	if (capture && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0) {
		if (capture) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (c->pid == 0) {
		if (capture)
			dup2(pfd[1], STDOUT_FILENO);
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);
			if (null >= 0)
				dup2(null, STDERR_FILENO);
			if (!capture && null >= 0)
				dup2(null, STDOUT_FILENO);
		}
		execv(argv[0], argv);
		fprintf(stderr, "omvd-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (capture) {
		close(pfd[1]);
		c->out_fd = pfd[0];
	}
	track(c->pid, true);
	return 0;
}

void child_stop(struct child *c)
{
	double deadline = now_s() + 3.0;
	int status;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &status, WNOHANG) == 0) {
			if (now_s() > deadline) {
				kill(c->pid, SIGKILL);
				waitpid(c->pid, &status, 0);
				break;
			}
			sleep_s(0.005);
		}
		track(c->pid, false);
		c->pid = -1;
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
}

bool child_exited(struct child *c)
{
	int status;

	if (c->pid <= 0)
		return true;
	if (waitpid(c->pid, &status, WNOHANG) != c->pid)
		return false;
	track(c->pid, false);
	c->pid = -1;
	return true;
}

int child_read_line(struct child *c, char *buf, size_t cap, double timeout_s)
{
	double deadline = now_s() + timeout_s;
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd pf = { c->out_fd, POLLIN, 0 };
		double left = deadline - now_s();
		char ch;

		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			return -1;
		if (read(c->out_fd, &ch, 1) != 1)
			return -1;
		if (ch == '\n')
			break;
		buf[len++] = ch;
	}
	buf[len] = '\0';
	return 0;
}

long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* CPU seconds from utime + stime (clock ticks, often 10 ms). */
static double stat_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces: fields count from its ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of all threads from schedstat (ns); -1 if unavailable. */
static double schedstat_cpu_s(pid_t pid)
{
	char path[300];
	unsigned long long ns, sum = 0;
	struct dirent *e;
	bool any = false;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1) {
			sum += ns;
			any = true;
		}
		fclose(f);
	}
	closedir(dir);
	return any ? (double)sum / 1e9 : -1;
}

double proc_cpu_s(pid_t pid)
{
	double s = schedstat_cpu_s(pid);

	return s >= 0 ? s : stat_cpu_s(pid);
}

/* ------------------------------------------------------------------ */

int camsim_spawn(struct camsim *cs, const struct bench_opts *o, const char *const *extra)
{
	static unsigned serial;
	char line[512];
	char *argv[32];
	int n = 0;

	serial++;
	snprintf(cs->link, sizeof cs->link, "%s/cam%u", o->dir, serial);
	snprintf(cs->control, sizeof cs->control, "%s/ctl%u", o->dir, serial);
	argv[n++] = (char *)o->camsim;
	argv[n++] = "--link";
	argv[n++] = cs->link;
	argv[n++] = "--control";
	argv[n++] = cs->control;
	while (*extra && n < 31)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	if (child_spawn(&cs->proc, argv, true, !o->verbose) < 0)
		return -1;
	if (child_read_line(&cs->proc, line, sizeof line, 5.0) < 0 || access(cs->link, F_OK) < 0) {
		bench_fail("camsim did not start");
		child_stop(&cs->proc);
		return -1;
	}
	return 0;
}

int camsim_start(struct camsim *cs, const struct bench_opts *o,
		 const struct link_profile *p, const struct frame_kind *k)
{
	char size[32], rate[32], lat[32], fps[16];
	const char *argv[10];
	int n = 0;

	snprintf(size, sizeof size, "%ux%u", k->w, k->h);
	snprintf(rate, sizeof rate, "%u", p->rate);
	snprintf(lat, sizeof lat, "%u", p->latency_us);
	snprintf(fps, sizeof fps, "%u", k->fps);
	argv[n++] = "--fps";
	argv[n++] = fps;
	argv[n++] = "--frame-size";
	argv[n++] = size;
	if (p->rate) {
		argv[n++] = "--link-rate";
		argv[n++] = rate;
		argv[n++] = "--link-latency-us";
		argv[n++] = lat;
	}
	argv[n] = NULL;
	return camsim_spawn(cs, o, argv);
}

void camsim_stop(struct camsim *cs)
{
	child_stop(&cs->proc);
}

/* One reply line of the control socket for a command. */
static json_t *control_call(const char *path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[16384];
	size_t len = 0;
	json_t *reply = NULL;
	double deadline = now_s() + 2.0;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(fd, "\n", 1) != 1)
		goto out;
	while (len + 1 < sizeof buf && now_s() < deadline) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len)) {
			buf[len] = '\0';
			reply = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
			break;
		}
	}
out:
	close(fd);
	return reply;
}

int camsim_counters(struct camsim *cs, struct cam_counters *out)
{
	json_t *r = control_call(cs->control, "stats");
	json_int_t produced, read;
	int rc = -1;

	if (r && json_unpack(r, "{s:I, s:I}", "frames_produced", &produced,
			     "frames_read", &read) == 0) {
		static const char *const faults[] = { "dropped_in", "dropped_out",
						      "corrupted_in", "corrupted_out" };

		out->frames_produced = (double)produced;
		out->frames_read = (double)read;
		out->faults = 0;
		for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
			out->faults += (double)json_integer_value(json_object_get(r, faults[i]));
		rc = 0;
	} else {
		bench_fail("camsim's control socket did not answer stats");
	}
	json_decref(r);
	return rc;
}
