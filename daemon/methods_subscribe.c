/* subscribe / unsubscribe: which notifications a client gets. */
#include <string.h>

#include "methods.h"
#include "rpc.h"
#include "rpc_server.h"
#include "stdout_log.h"

static int topic_bit(const char *name)
{
	static const char *const names[] = { "link", "event", "stdout", "frame", "state" };

	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i], name) == 0)
			return (int)(1u << i);
	return -1;
}

/* The union of the topics named in params.topics; -1 after an error. */
static int param_topics(struct rpc_call *call, json_t *params, unsigned *out)
{
	json_t *topics = json_object_get(params, "topics");
	json_t *v;
	size_t i;

	if (topics == NULL) {
		call_error(call, RPC_INVALID_PARAMS, "invalid params: 'topics' is required", NULL);
		return -1;
	}
	if (!json_is_array(topics)) {
		call_error(call, RPC_INVALID_PARAMS, "invalid params: 'topics' must be a list", NULL);
		return -1;
	}
	*out = 0;
	json_array_foreach(topics, i, v) {
		int bit = json_is_string(v) ? topic_bit(json_string_value(v)) : -1;
		if (bit < 0) {
			call_errorf(call, RPC_INVALID_PARAMS,
				    "invalid params: topics[%zu] is not one of link, event, stdout, "
				    "frame, state", i);
			return -1;
		}
		*out |= (unsigned)bit;
	}
	return 0;
}

static void m_subscribe(struct rpc_call *call, json_t *params)
{
	struct rpc_client *c = call->client;
	enum frame_encoding enc;
	unsigned topics;
	bool shm;

	if (param_topics(call, params, &topics) < 0 ||
	    param_frame_format(call, params, "none", true, &enc) < 0 ||
	    param_bool(call, params, "shm", false, false, &shm) < 0)
		return;
	/* Notifications start with the output of the latest run so far. */
	if ((topics & TOPIC_STDOUT) && !(c->topics & TOPIC_STDOUT) && call_camera(call) != NULL)
		c->stdout_sent = stdout_log_reader_start(camera_stdout(call_camera(call)));
	c->topics |= topics;
	if (topics & TOPIC_FRAME) {
		c->frame_enc = enc;
		c->frame_shm = shm;
		if (call_camera(call) != NULL)
			camera_want_frames(c->owner, true);
	}
	call_result(call, topics_json(c->topics));
	/* The output its cursor has not passed yet: the running script's. */
	if (topics & TOPIC_STDOUT)
		rpc_notify_stdout(c);
}

static void m_unsubscribe(struct rpc_call *call, json_t *params)
{
	struct rpc_client *c = call->client;
	unsigned topics;

	if (param_topics(call, params, &topics) < 0)
		return;
	if ((topics & TOPIC_FRAME) && (c->topics & TOPIC_FRAME) && call_camera(call) != NULL)
		camera_want_frames(c->owner, false);
	c->topics &= ~topics;
	call_result(call, topics_json(c->topics));
}

static const char *const p_subscribe[] = { "topics", "frame_format", "shm", NULL };
static const char *const p_unsubscribe[] = { "topics", NULL };

const struct method methods_subscribe[] = {
	{ "subscribe", m_subscribe, p_subscribe },
	{ "unsubscribe", m_unsubscribe, p_unsubscribe },
	{ NULL, NULL, NULL },
};
