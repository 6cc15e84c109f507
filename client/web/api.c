/*
 * /api/...: JSON for the page and for scripts. Each request becomes one or
 * more calls to omvd, answered together when all are back, or with 504
 * when omvd keeps us waiting. Viewing needs the token or --public-view
 * (checked by http.c); control (exec, stop, reset) needs the token.
 *
 *   GET  info      {version, system_info, status, web}
 *   GET  status    {status, web}
 *   GET  clients   omvd's clients
 *   POST exec      the body is the script; {run}
 *   POST stop, reset
 */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

struct op {
	struct web *w;
	struct evhttp_request *req;	/* NULL once answered or gone */
	struct event *timer;
	int pending;			/* calls not back yet, +1 while starting */
	json_t *out;			/* the reply, filled by the calls */
	const char *only;		/* reply with just this member of out */
	int code;			/* first failure of a required call */
	char msg[300];
};

struct part {
	struct op *op;
	const char *key;
	bool required;			/* its failure fails the request */
};

/* An omvd error as an HTTP status. */
static int http_status(int rc)
{
	switch (rc) {
	case OMV_RPC_INVALID_PARAMS:
	case OMV_RPC_REQUEST_TOO_LARGE:
		return 400;
	case OMV_RPC_NOT_CONNECTED:
	case OMV_RPC_BUSY:
	case OMV_ECLOSED:
	case OMV_ECANCELLED:
	case OMV_ECONNECT:
		return 503;
	case OMV_RPC_CAM_TIMEOUT:
	case OMV_ETIMEOUT:
		return 504;
	default:
		return 502;
	}
}

static void op_free(struct op *op)
{
	if (op->req)
		http_forget_close(op->w->http, op->req);
	if (op->timer)
		event_free(op->timer);
	json_decref(op->out);
	free(op);
}

static void op_reply(struct op *op)
{
	struct evhttp_request *req = op->req;

	if (!req)
		return;
	http_forget_close(op->w->http, req);
	op->req = NULL;
	evtimer_del(op->timer);
	if (op->code)
		http_reply_json(req, op->code, json_pack("{s:{s:s}}", "error", "message", op->msg));
	else if (op->only)
		http_reply_json(req, 200, json_incref(json_object_get(op->out, op->only)));
	else
		http_reply_json(req, 200, json_incref(op->out));
}

static void on_reply(omv_client *c, int status, json_t *result, void *arg)
{
	struct part *p = arg;
	struct op *op = p->op;

	if (status == OMV_OK) {
		json_object_set(op->out, p->key, result);
	} else if (p->required && !op->code) {
		op->code = http_status(status);
		snprintf(op->msg, sizeof op->msg, "%s", omv_client_error_message(c));
	} else {
		json_object_set_new(op->out, p->key, json_null());
	}
	free(p);
	if (--op->pending == 0) {
		op_reply(op);
		op_free(op);
	}
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct op *op = arg;

	op->code = 504;
	snprintf(op->msg, sizeof op->msg, "omvd did not answer within %d s",
		 WEB_CALL_TIMEOUT_MS / 1000);
	op_reply(op);	/* the op stays until its calls come back */
}

static void op_closed(void *arg)
{
	struct op *op = arg;

	op->req = NULL;
}

/* Start a call for op; params stolen. */
static void op_call(struct op *op, const char *method, json_t *params, const char *key,
		    bool required)
{
	struct part *p = calloc(1, sizeof *p);

	if (!p) {
		json_decref(params);
		op->code = 503;
		snprintf(op->msg, sizeof op->msg, "out of memory");
		return;
	}
	*p = (struct part){ op, key, required };
	op->pending++;
	if (upstream_call(op->w->up, method, params, on_reply, p) < 0) {
		op->pending--;
		free(p);
		if (required && !op->code) {
			op->code = 503;
			snprintf(op->msg, sizeof op->msg, "omvd is not reachable at %s",
				 op->w->opt.socket_path);
		}
	}
}

static struct op *op_new(struct web *w, struct evhttp_request *req)
{
	struct op *op = calloc(1, sizeof *op);

	if (!op)
		return NULL;
	op->w = w;
	op->req = req;
	/* Held while the calls start: one may complete before the next goes. */
	op->pending = 1;
	op->out = json_object();
	op->timer = evtimer_new(w->base, on_timeout, op);
	if (!op->out || !op->timer) {
		op->req = NULL;
		op_free(op);
		return NULL;
	}
	return op;
}

/* All calls started: wait for them, or answer now when all are back. */
static void op_start(struct op *op)
{
	struct timeval tv = { WEB_CALL_TIMEOUT_MS / 1000, (WEB_CALL_TIMEOUT_MS % 1000) * 1000 };

	if (--op->pending == 0) {
		op_reply(op);
		op_free(op);
		return;
	}
	evtimer_add(op->timer, &tv);
	if (op->req)
		http_on_close(op->w->http, op->req, op_closed, op);
}

static json_t *web_section(struct web *w, bool control)
{
	return json_pack("{s:b,s:b,s:b,s:o,s:o,s:i}", "omvd_connected",
			 upstream_connected(w->up), "public_view", w->opt.public_view,
			 "control", control, "frames", frames_stats(w->frames), "mjpeg",
			 mjpeg_stats(w->mjpeg), "connections", http_connections(w->http));
}

/* The body as a script: text, not empty. NULL (replied) otherwise. */
static json_t *script_param(struct evhttp_request *req)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	const char *text = len ? (const char *)evbuffer_pullup(body, -1) : NULL;
	json_t *script = text ? json_stringn(text, len) : NULL;

	if (!script) {
		http_reply_error(req, 400, len ? "the script is not UTF-8 text" :
					   "no script: send it as the request body");
		return NULL;
	}
	return json_pack("{s:o}", "script", script);
}

void api_request(struct web *w, struct evhttp_request *req, const char *path, bool control)
{
	static const char *const reads[] = { "info", "status", "clients", NULL };
	static const char *const controls[] = { "exec", "stop", "reset", NULL };
	bool post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	bool is_read = false, is_control = false;
	json_t *params = NULL;
	struct op *op;

	for (int i = 0; reads[i]; i++)
		is_read |= strcmp(path, reads[i]) == 0;
	for (int i = 0; controls[i]; i++)
		is_control |= strcmp(path, controls[i]) == 0;
	if (!is_read && !is_control) {
		http_reply_error(req, 404, "no such API: /api/%s", path);
		return;
	}
	if (post != is_control) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
				  is_control ? "POST" : "GET");
		http_reply_error(req, 405, "/api/%s takes %s", path, is_control ? "POST" : "GET");
		return;
	}
	if (is_control && !control) {
		http_reply_error(req, 403, "control needs the token");
		return;
	}
	if (strcmp(path, "exec") == 0 && !(params = script_param(req)))
		return;
	op = op_new(w, req);
	if (!op) {
		json_decref(params);
		http_reply_error(req, 503, "out of memory");
		return;
	}
	if (strcmp(path, "info") == 0) {
		op_call(op, "version", NULL, "version", false);
		op_call(op, "system_info", NULL, "system_info", false);
		op_call(op, "status", NULL, "status", true);
	} else if (strcmp(path, "status") == 0) {
		op_call(op, "status", NULL, "status", true);
	} else if (strcmp(path, "clients") == 0) {
		op_call(op, "clients", NULL, "clients", true);
		op->only = "clients";
	} else if (strcmp(path, "exec") == 0) {
		op_call(op, "exec", params, "run", true);
	} else {
		op_call(op, path, NULL, "result", true);
		json_object_set_new(op->out, "ok", json_true());
	}
	if (is_read && !op->only)
		json_object_set_new(op->out, "web", web_section(w, control));
	op_start(op);
}
