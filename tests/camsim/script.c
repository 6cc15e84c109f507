/*
 * The toy script runner: recognises the few MicroPython forms listed in
 * camsim-scripts.md (print, time.sleep*, while True, snapshot pacing,
 * protocol.register, raise) and ignores every other line.
 *
 * A script is compiled into a flat list of steps (a loop becomes a jump
 * back) and then run as timer-driven steps in the event loop. Indentation
 * errors are found at compile time and, like MicroPython, end the script
 * with a traceback before anything runs.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camsim.h"

#define MAX_DEPTH 32
#define STEPS_PER_TURN 256	/* then yield, so `while True: pass` cannot hog */

enum op { OP_PRINT, OP_SLEEP, OP_SNAPSHOT, OP_REGISTER, OP_RAISE, OP_JUMP, OP_TRACEBACK };

struct insn {
	enum op op;
	int line;
	unsigned ms;		/* OP_SLEEP */
	size_t target;		/* OP_JUMP */
	char *text;		/* print args, channel name, exception, traceback */
};

struct script {
	struct sim *sim;
	struct insn *code;
	size_t n, cap;
	size_t pc;
	bool blocked, done;
	struct event *step_ev;
};

static int emit(struct script *sc, enum op op, int line, const char *text, size_t len)
{
	struct insn *i;

	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 16;
		struct insn *p = realloc(sc->code, cap * sizeof *p);
		if (!p)
			return -1;
		sc->code = p;
		sc->cap = cap;
	}
	i = &sc->code[sc->n++];
	memset(i, 0, sizeof *i);
	i->op = op;
	i->line = line;
	if (text && !(i->text = strndup(text, len))) {
		sc->n--;
		return -1;
	}
	return 0;
}

static void drop_code(struct script *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->code[i].text);
	sc->n = 0;
}

/* ---- expressions ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *trim_end(const char *p, const char *end)
{
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	return end;
}

/* Index just past the closing quote of the literal at p, or NULL. */
static const char *literal_end(const char *p, const char *end)
{
	char q = *p++;

	while (p < end && *p != q) {
		if (*p == '\\' && p + 1 < end)
			p++;
		p++;
	}
	return p < end ? p + 1 : NULL;
}

/* Is [p, end) exactly one string literal (with an optional r/b/f prefix)? */
static bool is_literal(const char *p, const char *end, bool *fmt)
{
	*fmt = false;
	while (p < end && strchr("rRbBfFuU", *p)) {
		if (*p == 'f' || *p == 'F')
			*fmt = true;
		p++;
	}
	return p < end && (*p == '"' || *p == '\'') && literal_end(p, end) == end;
}

static void eval_expr(struct sim *s, const char *p, const char *end, struct evbuffer *out);

static void unquote(struct sim *s, const char *p, const char *end, bool fmt,
		    struct evbuffer *out)
{
	while (*p != '"' && *p != '\'')
		p++;
	p++;
	end--;
	for (; p < end; p++) {
		if (fmt && *p == '{' && p + 1 < end && p[1] != '{') {
			const char *close = memchr(p, '}', (size_t)(end - p));
			const char *colon;
			if (close) {
				colon = memchr(p, ':', (size_t)(close - p));
				eval_expr(s, p + 1, colon ? colon : close, out);
				p = close;
				continue;
			}
		}
		if (*p == '\\' && p + 1 < end) {
			p++;
			switch (*p) {
			case 'n': evbuffer_add(out, "\n", 1); break;
			case 't': evbuffer_add(out, "\t", 1); break;
			case 'r': evbuffer_add(out, "\r", 1); break;
			case '0': evbuffer_add(out, "", 1); break;
			default: evbuffer_add(out, p, 1); break;
			}
			continue;
		}
		evbuffer_add(out, p, 1);
	}
}

static bool contains(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	for (; p + n <= end; p++)
		if (!strncmp(p, word, n))
			return true;
	return false;
}

/* Something plausible for an expression camsim cannot evaluate. */
static void eval_expr(struct sim *s, const char *p, const char *end, struct evbuffer *out)
{
	char *num;
	bool fmt;

	p = skip_ws(p, end);
	end = trim_end(p, end);
	if (is_literal(p, end, &fmt)) {
		unquote(s, p, end, fmt, out);
		return;
	}
	num = strndup(p, (size_t)(end - p));
	if (num && *num && strspn(num, "0123456789.-+eE") == strlen(num))
		evbuffer_add_printf(out, "%s", num);
	else if (contains(p, end, "fps"))
		evbuffer_add_printf(out, "%.6g", s->o.fps ? (double)s->o.fps - 0.03 : 29.97);
	else if (contains(p, end, "ticks"))
		evbuffer_add_printf(out, "%" PRIu64, sim_now_ms() - s->t0_ms);
	else if (contains(p, end, "snapshot") || contains(p, end, "img"))
		evbuffer_add_printf(out, "{\"w\":%u, \"h\":%u, \"type\":\"rgb565\", \"size\":%u}",
				    s->o.frame_w, s->o.frame_h, s->o.frame_w * s->o.frame_h * 2);
	else
		evbuffer_add(out, p, (size_t)(end - p));
	free(num);
}

/* End of the argument starting at p: the next comma outside brackets. */
static const char *arg_end(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		if (*p == '"' || *p == '\'') {
			const char *q = literal_end(p, end);
			p = q ? q : end;
			continue;
		}
		if (strchr("([{", *p))
			depth++;
		else if (strchr(")]}", *p))
			depth--;
		else if (*p == ',' && depth == 0)
			return p;
		p++;
	}
	return end;
}

/* Is the argument at a a keyword argument `name=`? Points past '=' if so. */
static const char *keyword(const char *a, const char *e, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if ((size_t)(e - a) <= n || strncmp(a, name, n))
		return NULL;
	p = skip_ws(a + n, e);
	return p < e && *p == '=' && (p + 1 >= e || p[1] != '=') ? p + 1 : NULL;
}

static void eval_print(struct sim *s, const char *args, struct evbuffer *out)
{
	const char *end = args + strlen(args), *p, *kw;
	const char *sep = NULL, *sep_end = NULL, *fin = NULL, *fin_end = NULL;
	bool first = true;

	/* keywords first: sep applies between all positional arguments */
	for (p = args; p < end;) {
		const char *e = arg_end(p, end), *a = skip_ws(p, e);

		if ((kw = keyword(a, e, "sep")))
			sep = kw, sep_end = e;
		else if ((kw = keyword(a, e, "end")))
			fin = kw, fin_end = e;
		p = e < end ? e + 1 : end;
	}
	for (p = args; p < end;) {
		const char *e = arg_end(p, end), *a = skip_ws(p, e);

		if (!keyword(a, e, "sep") && !keyword(a, e, "end") && trim_end(a, e) > a) {
			if (!first) {
				if (sep)
					eval_expr(s, sep, sep_end, out);
				else
					evbuffer_add(out, " ", 1);
			}
			eval_expr(s, a, e, out);
			first = false;
		}
		p = e < end ? e + 1 : end;
	}
	if (fin)
		eval_expr(s, fin, fin_end, out);
	else
		evbuffer_add(out, "\n", 1);
}

/* ---- compiling ---- */

struct block {
	int indent;		/* of the block's body */
	bool skip;		/* body is not run (def, class, if, for, ...) */
	bool loop;
	size_t start;		/* first step of a loop body */
};

/* The text inside the parentheses after `word(` in line, or NULL. */
static char *call_args(const char *line, const char *word)
{
	const char *p = strstr(line, word), *open, *close;

	if (!p)
		return NULL;
	open = p + strlen(word) - 1;
	close = strrchr(open, ')');
	if (!close)
		return NULL;
	return strndup(open + 1, (size_t)(close - open - 1));
}

static unsigned sleep_ms(const char *args, double scale)
{
	char *end;
	double v = strtod(args, &end);

	if (end == args || v < 0)
		return 0;
	v *= scale;
	return v > 3600e3 ? 3600000u : (unsigned)v;
}

/* The name= keyword (or first positional string) of protocol.register(). */
static char *register_name(const char *args)
{
	const char *p = strstr(args, "name"), *q, *e;

	if (p) {
		p = strchr(p, '=');
		if (p)
			p++;
	}
	if (!p)
		p = args;
	p = skip_ws(p, p + strlen(p));
	if (*p != '"' && *p != '\'')
		return NULL;
	q = p + 1;
	e = strchr(q, *p);
	if (!e)
		return NULL;
	return strndup(q, (size_t)(e - q) > OMV_CHANNEL_NAME_MAX ? OMV_CHANNEL_NAME_MAX
								 : (size_t)(e - q));
}

static int compile_simple(struct script *sc, const char *t, int line)
{
	char *args = NULL;
	int rc = 0;

	if (!strncmp(t, "raise", 5) && (!t[5] || isspace((unsigned char)t[5]))) {
		return emit(sc, OP_RAISE, line, t + 5, strlen(t + 5));
	}
	if (!strncmp(t, "print(", 6) && (args = call_args(t, "print("))) {
		rc = emit(sc, OP_PRINT, line, args, strlen(args));
	} else if ((args = call_args(t, "sleep_ms("))) {
		rc = emit(sc, OP_SLEEP, line, NULL, 0);
		if (!rc)
			sc->code[sc->n - 1].ms = sleep_ms(args, 1);
	} else if ((args = call_args(t, "sleep_us("))) {
		rc = emit(sc, OP_SLEEP, line, NULL, 0);
		if (!rc)
			sc->code[sc->n - 1].ms = sleep_ms(args, 0.001);
	} else if ((args = call_args(t, "time.sleep("))) {
		rc = emit(sc, OP_SLEEP, line, NULL, 0);
		if (!rc)
			sc->code[sc->n - 1].ms = sleep_ms(args, 1000);
	} else if (strstr(t, ".snapshot(")) {
		rc = emit(sc, OP_SNAPSHOT, line, NULL, 0);
	} else if ((args = call_args(t, "protocol.register("))) {
		char *name = register_name(args);
		rc = emit(sc, OP_REGISTER, line, name ? name : "", name ? strlen(name) : 0);
		free(name);
	}
	free(args);
	return rc;
}

static bool is_forever(const char *t)
{
	static const char *const forms[] = { "while True:", "while(True):", "while (True):",
					     "while 1:", "while(1):" };

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
		if (!strcmp(t, forms[i]))
			return true;
	return false;
}

/* Compound statements whose body runs once, in order. */
static bool runs_once(const char *t)
{
	return !strcmp(t, "try:") || !strcmp(t, "finally:") || !strcmp(t, "if True:") ||
	       !strncmp(t, "with ", 5);
}

static int syntax_error(struct script *sc, int line, const char *kind, const char *msg)
{
	char text[256];

	drop_code(sc);
	snprintf(text, sizeof text,
		 "Traceback (most recent call last):\n  File \"<stdin>\", line %d\n%s: %s\n",
		 line, kind, msg);
	return emit(sc, OP_TRACEBACK, line, text, strlen(text));
}

/* Cut a line down to its statement: no comment, no surrounding blanks. */
static char *statement(const char *p, size_t len, int *indent)
{
	const char *end = p + len, *q;
	int col = 0;

	while (p < end && (*p == ' ' || *p == '\t')) {
		col = *p == '\t' ? (col / 8 + 1) * 8 : col + 1;
		p++;
	}
	*indent = col;
	for (q = p; q < end && *q != '#'; q++) {
		if (*q == '"' || *q == '\'') {
			const char *e = literal_end(q, end);
			if (!e)
				break;
			q = e - 1;
		}
	}
	end = trim_end(p, q);
	return strndup(p, (size_t)(end - p));
}

static int close_block(struct script *sc, struct block *b)
{
	if (b->loop && !b->skip) {
		if (emit(sc, OP_JUMP, 0, NULL, 0) < 0)
			return -1;
		sc->code[sc->n - 1].target = b->start;
	}
	return 0;
}

static int compile(struct script *sc, const char *text, size_t len)
{
	struct block stack[MAX_DEPTH] = { { 0 } };
	int depth = 0, line = 0, header_indent = 0;
	bool expect_body = false;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		int indent, rc = 0;
		char *t = statement(p, n, &indent);

		p = nl ? nl + 1 : end;
		line++;
		if (!t)
			return -1;
		if (!*t) {
			free(t);
			continue;
		}
		if (expect_body) {
			if (indent <= header_indent) {
				free(t);
				return syntax_error(sc, line, "IndentationError",
						    "expected an indented block");
			}
			stack[depth].indent = indent;
			expect_body = false;
		} else if (indent > stack[depth].indent) {
			free(t);
			return syntax_error(sc, line, "IndentationError", "unexpected indent");
		}
		while (indent < stack[depth].indent) {
			if (close_block(sc, &stack[depth]) < 0) {
				free(t);
				return -1;
			}
			depth--;
		}
		if (indent != stack[depth].indent) {
			free(t);
			return syntax_error(sc, line, "IndentationError",
					    "unindent doesn't match any outer indent level");
		}
		if (t[strlen(t) - 1] == ':') {
			struct block *b;
			if (depth + 1 >= MAX_DEPTH) {
				free(t);
				return syntax_error(sc, line, "RuntimeError",
						    "maximum recursion depth exceeded");
			}
			b = &stack[depth + 1];
			b->skip = stack[depth].skip || !(is_forever(t) || runs_once(t));
			b->loop = is_forever(t);
			b->start = sc->n;
			b->indent = INT32_MAX;
			depth++;
			header_indent = indent;
			expect_body = true;
		} else if (!stack[depth].skip) {
			rc = compile_simple(sc, t, line);
		}
		free(t);
		if (rc < 0)
			return -1;
	}
	if (expect_body)
		return syntax_error(sc, line + 1, "IndentationError", "expected an indented block");
	for (; depth > 0; depth--)
		if (close_block(sc, &stack[depth]) < 0)
			return -1;
	return 0;
}

/* ---- running ---- */

static void finish(struct script *sc)
{
	sc->done = true;
	device_soft_reboot_later(sc->sim);
}

static void traceback(struct script *sc, int line, const char *kind_and_msg)
{
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return;
	evbuffer_add_printf(b, "Traceback (most recent call last):\n"
			    "  File \"<stdin>\", line %d, in <module>\n%s\n", line, kind_and_msg);
	size_t n = evbuffer_get_length(b);
	stdout_put(sc->sim, (const char *)evbuffer_pullup(b, -1), n);
	evbuffer_free(b);
}

/* `raise X`, `raise X("msg")`, `raise`: the line MicroPython would print. */
static void do_raise(struct script *sc, const struct insn *in)
{
	const char *p = skip_ws(in->text, in->text + strlen(in->text));
	const char *name = p, *e = p;
	struct evbuffer *msg = evbuffer_new();
	char *line;

	if (!msg)
		return;
	while (*e && (isalnum((unsigned char)*e) || *e == '_' || *e == '.'))
		e++;
	if (e == name) {
		evbuffer_add_printf(msg, "RuntimeError: No active exception to reraise");
	} else {
		const char *dot = memrchr(name, '.', (size_t)(e - name));
		if (dot)
			name = dot + 1;
		evbuffer_add(msg, name, (size_t)(e - name));
		if (*e == '(') {
			const char *close = strrchr(e, ')');
			const char *a = skip_ws(e + 1, close ? close : e + 1);
			if (close && a < close) {
				evbuffer_add(msg, ": ", 2);
				eval_expr(sc->sim, a, close, msg);
			}
		}
	}
	evbuffer_add(msg, "", 1);
	line = (char *)evbuffer_pullup(msg, -1);
	traceback(sc, in->line, line);
	evbuffer_free(msg);
}

static void wait_ms(struct script *sc, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(sc->step_ev, &tv);
}

static void step(evutil_socket_t fd, short what, void *arg)
{
	struct script *sc = arg;
	struct sim *s = sc->sim;
	unsigned budget = STEPS_PER_TURN;

	while (!sc->done) {
		struct insn *in;

		if (stdout_blocked(s)) {
			sc->blocked = true;	/* script_resume() continues */
			return;
		}
		if (sc->pc >= sc->n) {
			finish(sc);
			return;
		}
		if (!--budget) {
			wait_ms(sc, 1);
			return;
		}
		in = &sc->code[sc->pc++];
		switch (in->op) {
		case OP_PRINT: {
			struct evbuffer *out = evbuffer_new();
			if (!out)
				break;
			eval_print(s, in->text, out);
			size_t n = evbuffer_get_length(out);
			stdout_put(s, (const char *)evbuffer_pullup(out, -1), n);
			evbuffer_free(out);
			break;
		}
		case OP_SLEEP:
			wait_ms(sc, in->ms);
			return;
		case OP_SNAPSHOT:
			wait_ms(sc, s->o.fps ? 1000 / s->o.fps : 10);
			return;
		case OP_REGISTER:
			if (device_register_channel(s, in->text) < 0) {
				traceback(sc, in->line,
					  "ValueError: channel name in use or no free channel");
				finish(sc);
				return;
			}
			break;
		case OP_RAISE:
			do_raise(sc, in);
			finish(sc);
			return;
		case OP_TRACEBACK:
			stdout_put(s, in->text, strlen(in->text));
			finish(sc);
			return;
		case OP_JUMP:
			sc->pc = in->target;
			break;
		}
	}
}

struct script *script_start(struct sim *s, const char *text, size_t len)
{
	struct script *sc = calloc(1, sizeof *sc);

	if (!sc)
		return NULL;
	sc->sim = s;
	sc->step_ev = evtimer_new(s->base, step, sc);
	if (!sc->step_ev || compile(sc, text, len) < 0) {
		script_free(sc);
		return NULL;
	}
	event_active(sc->step_ev, EV_TIMEOUT, 0);
	return sc;
}

void script_resume(struct script *sc)
{
	if (sc->blocked && !sc->done) {
		sc->blocked = false;
		event_active(sc->step_ev, EV_TIMEOUT, 0);
	}
}

void script_free(struct script *sc)
{
	if (!sc)
		return;
	drop_code(sc);
	free(sc->code);
	if (sc->step_ev)
		event_free(sc->step_ev);
	free(sc);
}
