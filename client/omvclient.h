/*
 * libomvclient: a small client for omvd, the daemon that owns an OpenMV cam
 * and serves it over a Unix-socket JSON-RPC 2.0 interface (rpc.md, installed
 * with omvd's documentation).
 *
 * One omv_client is one connection. It keeps no global state; use one
 * client per thread. Two ways to use it, freely mixed:
 *
 *  - blocking calls: every typed function and omv_client_call() sends a
 *    request and waits (up to the client's timeout, default 10 s) for the
 *    reply with the same id; notifications that arrive meanwhile go to the
 *    callbacks set with omv_client_on_notify() / omv_client_on_frame().
 *
 *  - the caller's own loop: watch omv_client_fd() for input, call
 *    omv_client_process() when it is readable (it reads what is pending
 *    without blocking and dispatches replies and notifications), and issue
 *    requests with omv_client_call_async().
 *
 * Errors: every function returning int returns 0 on success and a negative
 * code on failure: either a JSON-RPC error code from the server
 * (OMV_RPC_*, -32768..-32000) or a local one (OMV_E*, -1..-99). The client
 * keeps the last code and message (omv_client_error_code/_message).
 *
 * JSON values are jansson's json_t. Unless said otherwise, json_t
 * parameters are borrowed and json_t results are new references that the
 * caller releases with json_decref(); memory returned through pointers is
 * released with free().
 */
#ifndef OMVCLIENT_H
#define OMVCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(OMVCLIENT_BUILD) && defined(__GNUC__)
#define OMV_API __attribute__((visibility("default")))
#else
#define OMV_API
#endif

/* Local error codes. */
enum {
	OMV_OK = 0,
	OMV_ECONNECT = -1,	/* could not connect to the socket */
	OMV_ETIMEOUT = -2,	/* no reply within the timeout */
	OMV_ECLOSED = -3,	/* omvd closed the connection (or never opened) */
	OMV_EPROTO = -4,	/* omvd sent something that is not valid JSON-RPC */
	OMV_EINVAL = -5,	/* bad argument */
	OMV_ENOMEM = -6,	/* out of memory */
	OMV_EIO = -7,		/* socket read/write error */
	OMV_ECANCELLED = -8,	/* async call dropped: client freed */
};

/* Error codes sent by omvd (rpc.md). */
enum {
	OMV_RPC_PARSE_ERROR = -32700,
	OMV_RPC_INVALID_REQUEST = -32600,
	OMV_RPC_METHOD_NOT_FOUND = -32601,
	OMV_RPC_INVALID_PARAMS = -32602,
	OMV_RPC_INTERNAL_ERROR = -32603,
	OMV_RPC_NOT_CONNECTED = -32000,
	OMV_RPC_CAM_TIMEOUT = -32001,
	OMV_RPC_CAM_ERROR = -32002,
	OMV_RPC_NO_CHANNEL = -32003,
	OMV_RPC_BUSY = -32004,
	OMV_RPC_PROTOCOL = -32005,
	OMV_RPC_LOCKED = -32006,
	OMV_RPC_REQUEST_TOO_LARGE = -32007,
	OMV_RPC_RESPONSE_TOO_LARGE = -32008,
};

/* Pixel-format id of a JPEG frame, as the cam declares it. */
#define OMV_PIXFORMAT_JPEG 0x06060000u

#define OMV_DEFAULT_SOCKET "/run/omvd/omvd.sock"
#define OMV_DEFAULT_TIMEOUT_MS 10000

typedef struct omv_client omv_client;

/* ---- connection ---------------------------------------------------- */

/* $OMVD_SOCKET when set and not empty, else OMV_DEFAULT_SOCKET. */
OMV_API const char *omv_client_default_socket(void);
/* Where omvd's sockets are: $OMVD_RUNTIME_DIR when set and not empty,
 * else /run/omvd. */
OMV_API const char *omv_client_runtime_dir(void);
/* The sockets in the runtime directory (not the symlinks to them, such as
 * the by-serial aliases), sorted by name: a NULL-terminated array in one
 * block, released with one free(); NULL with errno set when the directory
 * cannot be read. */
OMV_API char **omv_client_list_sockets(void);

/* A new, unconnected client; NULL when out of memory. */
OMV_API omv_client *omv_client_new(void);
/* The socket omv_client_connect(c, NULL) uses: $OMVD_SOCKET when set;
 * else omvd.sock in the runtime directory when it exists; else the only
 * socket there. A malloc'd path, or NULL with the client's error set
 * (OMV_ECONNECT; the message lists the sockets when there are several). */
OMV_API char *omv_client_find_socket(omv_client *c);
/* Connect to where omvd is:
 *  - NULL: the socket omv_client_find_socket() names;
 *  - a socket path, or "unix:PATH";
 *  - "ssh://[user@]host[:port][/path/to/socket]": runs `ssh` (the one in
 *    PATH, so it can be configured or wrapped) with `omvctl bridge
 *    [--socket PATH]` on the far side ($OMVCTL_REMOTE names another
 *    program there) and talks through it; connected once omvd answered
 *    through the link (waiting at least 60 s for the ssh login). Ctrl-C
 *    (SIGINT) is left to the caller: the ssh process ignores it and ends
 *    when the client closes the link.
 * After the connection was lost, the same client may connect again. */
OMV_API int omv_client_connect(omv_client *c, const char *where);
/* Close the connection and free the client. Pending async calls complete
 * with OMV_ECANCELLED first. NULL is fine. Never call it from one of the
 * client's own callbacks. */
OMV_API void omv_client_free(omv_client *c);

/* Timeout of blocking calls in milliseconds (<= 0: wait forever). */
OMV_API void omv_client_set_timeout(omv_client *c, int timeout_ms);
OMV_API int omv_client_timeout(const omv_client *c);

OMV_API int omv_client_error_code(const omv_client *c);
OMV_API const char *omv_client_error_message(const omv_client *c);
/* The errno value behind the last local error (ENOENT, EACCES, ... for a
 * failed connect), 0 when there is none. */
OMV_API int omv_client_error_errno(const omv_client *c);
/* The "data" member of the last server error, or NULL (borrowed). */
OMV_API json_t *omv_client_error_data(const omv_client *c);

/* ---- generic calls ------------------------------------------------- */

/* Call method with params (an object, or NULL for none); on success
 * *result (when result is not NULL) receives the result, possibly a JSON
 * null. A frame result in shared memory ("shm" member) gets an "fd"
 * member: the descriptor passed with it, which the caller then owns. */
OMV_API int omv_client_call(omv_client *c, const char *method, json_t *params,
			    json_t **result);

/* Called once per async call: status is 0 or the error code, result is
 * the result (borrowed; NULL on error). The client's last error is set to
 * this call's error while the callback runs. */
typedef void (*omv_reply_cb)(omv_client *c, int status, json_t *result, void *arg);

/* Send a request and return once it is written; cb runs from a later
 * omv_client_process() (or a blocking call) when the reply arrives, or
 * with OMV_ECLOSED when the connection ends first. cb may be NULL. Async
 * calls have no timeout of their own: the caller's loop owns time. */
OMV_API int omv_client_call_async(omv_client *c, const char *method, json_t *params,
				  omv_reply_cb cb, void *arg);

/* ---- event loop integration ---------------------------------------- */

/* The socket to watch for input (POLLIN), or -1 when not connected. */
OMV_API int omv_client_fd(const omv_client *c);
/* Read whatever is pending without blocking and dispatch it. Returns 0,
 * or a negative code once the connection is gone (OMV_ECLOSED). It reads
 * a bounded amount per call: watch the fd level-triggered. */
OMV_API int omv_client_process(omv_client *c);
/* Wait up to timeout_ms (< 0: forever) for input, then process it.
 * Returns 1 when something was processed, 0 on timeout, negative on error.
 * A signal interrupting the wait returns 0 early. */
OMV_API int omv_client_wait(omv_client *c, int timeout_ms);
/* Number of calls sent whose reply has not arrived. */
OMV_API size_t omv_client_pending(const omv_client *c);

/* ---- notifications -------------------------------------------------- */

/*
 * A frame. Frames are reference-counted: omv_frame_ref() takes one more
 * reference, omv_frame_free() drops one and frees the frame with the
 * last. A frame received through shared memory (shm set) has its data
 * mapped read-only, shared with omvd and the other clients: writing to it
 * faults; it is unmapped with the last reference, and stays valid that
 * long whatever omvd does meanwhile.
 */
typedef struct omv_frame {
	uint64_t number;	/* daemon's frame counter, from 1 */
	int width, height;
	uint32_t format;	/* cam pixel-format id */
	uint32_t depth;		/* compressed size for JPEG frames */
	uint32_t raw_size;	/* bytes of the image the cam sent */
	char encoding[16];	/* "rgb888", "jpeg", "native"; "" without data */
	unsigned char *data;	/* the bytes, NULL without data (read-only if shm) */
	size_t len;
	double timestamp;	/* host time (CLOCK_REALTIME, s) its last byte came */
	double fps;		/* omvd's measured frame rate */
	bool shm;		/* data is a read-only mapping of shared memory */
} omv_frame;

/* One more reference to f (f itself). */
OMV_API omv_frame *omv_frame_ref(const omv_frame *f);
/* Drop a reference; NULL is fine. */
OMV_API void omv_frame_free(omv_frame *f);
/* A private copy with writable data (never shared memory). */
OMV_API omv_frame *omv_frame_dup(const omv_frame *f);

/* Every notification (method = topic, params borrowed). A frame sent in
 * shared memory has the descriptor that came with it in params' "fd"
 * member during the call (closed after it; dup() it to keep it). */
typedef void (*omv_notify_cb)(omv_client *c, const char *method, json_t *params,
			      void *arg);
/* "frame" notifications, decoded (frame borrowed for the call; take
 * omv_frame_ref() to keep it). */
typedef void (*omv_frame_cb)(omv_client *c, const omv_frame *frame, void *arg);

OMV_API void omv_client_on_notify(omv_client *c, omv_notify_cb cb, void *arg);
OMV_API void omv_client_on_frame(omv_client *c, omv_frame_cb cb, void *arg);

/* topics: NULL-terminated ("link", "event", "stdout", "frame", "state").
 * frame_format: "none" (NULL), "jpeg", "rgb888" or "native". */
OMV_API int omv_client_subscribe(omv_client *c, const char *const *topics,
				 const char *frame_format);
/* The same, frames in shared memory instead of base64 (local clients:
 * each frame's bytes are passed as a sealed memfd and mapped read-only,
 * no copy and no decoding). A connection that cannot pass descriptors
 * (ssh://) gets base64 frames, as omv_client_subscribe(). */
OMV_API int omv_client_subscribe_shm(omv_client *c, const char *const *topics,
				     const char *frame_format);
OMV_API int omv_client_unsubscribe(omv_client *c, const char *const *topics);

/* ---- typed calls (mirroring the openmv Camera class) ----------------- */

typedef struct omv_version {
	int protocol[3], bootloader[3], firmware[3];
} omv_version;

typedef struct omv_system_info {
	uint32_t cpu_id;
	uint32_t device_id[3];
	uint32_t chip_id[3];
	uint16_t usb_vid, usb_pid;
	uint32_t flash_size_kb, ram_size_kb;
	uint32_t framebuffer_size_kb, stream_buffer_size_kb;
	bool gpu_present, npu_present, isp_present, venc_present, jpeg_present;
	bool dram_present, crc_present, pmu_present, wifi_present, bt_present;
	bool sd_present, eth_present, multicore_present;
	bool usb_highspeed;
	uint32_t pmu_eventcnt;
} omv_system_info;

typedef struct omv_caps {
	bool crc, seq, ack, events;
	uint32_t max_payload;
} omv_caps;

typedef struct omv_status {
	char link[32];		/* "closed", "opening", ..., "ready" */
	char port[256];
	omv_caps caps;
	uint64_t uptime_ms;
	bool streaming, raw, script_running;
	uint64_t run;			/* the latest script run's id, 0 before any */
	int res_width, res_height;	/* 0 when no resolution is set */
	int clients;
} omv_status;

typedef struct omv_host_stats {
	uint64_t sent, received, checksum, sequence;
} omv_host_stats;

typedef struct omv_device_stats {
	uint64_t sent, received, checksum, sequence, retransmit, transport;
	uint64_t sent_events, max_ack_queue_depth;
} omv_device_stats;

typedef struct omv_channel {
	int id;
	char name[64];
	uint32_t flags;
} omv_channel;

typedef struct omv_channel_status {
	char name[64];
	bool ready;
} omv_channel_status;

OMV_API int omv_client_is_connected(omv_client *c, bool *connected);
OMV_API int omv_client_status(omv_client *c, omv_status *out);
OMV_API int omv_client_version(omv_client *c, omv_version *out);
OMV_API int omv_client_system_info(omv_client *c, omv_system_info *out);
OMV_API int omv_client_host_stats(omv_client *c, omv_host_stats *out);
OMV_API int omv_client_device_stats(omv_client *c, omv_device_stats *out);
OMV_API int omv_client_reset(omv_client *c);
OMV_API int omv_client_boot(omv_client *c);
OMV_API int omv_client_resync(omv_client *c);

/* *run (may be NULL): the id of the run started; the `state` and `stdout`
 * notifications of that run carry it. */
OMV_API int omv_client_exec(omv_client *c, const char *script, uint64_t *run);
OMV_API int omv_client_stop(omv_client *c);
/* *text: what was printed since this client's previous call, or NULL
 * when nothing was. Bytes lost before reading are counted in this
 * client's stdout_missed (omv_client_clients). */
OMV_API int omv_client_read_stdout(omv_client *c, char **text);

/* width/height 0: no resolution (required with raw). */
OMV_API int omv_client_streaming(omv_client *c, bool enable, bool raw, int width,
				 int height);
/* format: "rgb888" (NULL), "jpeg" or "native". *frame is NULL when there
 * is no frame newer than this client's last one. */
OMV_API int omv_client_read_frame(omv_client *c, const char *format, omv_frame **frame);
/* The same, the frame's bytes in shared memory where the connection
 * allows (see omv_client_subscribe_shm). */
OMV_API int omv_client_read_frame_shm(omv_client *c, const char *format, omv_frame **frame);

OMV_API int omv_client_has_channel(omv_client *c, const char *name, bool *has);
OMV_API int omv_client_channel_size(omv_client *c, const char *name, size_t *size);
/* size < 0: all available. *data is NULL when the channel does not exist,
 * else a buffer of *len bytes (NUL-terminated for convenience). */
OMV_API int omv_client_channel_read(omv_client *c, const char *name, long size,
				    unsigned char **data, size_t *len);
/* *written (may be NULL): false when the channel does not exist. */
OMV_API int omv_client_channel_write(omv_client *c, const char *name, const void *data,
				     size_t len, bool *written);
/* *channel_id is -1 when there is no channel of that name. */
OMV_API int omv_client_get_channel_id(omv_client *c, const char *name, int *channel_id);
/* *name is NULL when there is no channel of that id. */
OMV_API int omv_client_get_channel_name(omv_client *c, int channel_id, char **name);
OMV_API int omv_client_channel_list(omv_client *c, omv_channel **list, size_t *count);
OMV_API int omv_client_read_status(omv_client *c, omv_channel_status **list,
				   size_t *count);
OMV_API int omv_client_channel_lock(omv_client *c, int channel_id, bool *granted);
OMV_API int omv_client_channel_unlock(omv_client *c, int channel_id, bool *released);
/* fmt: Python struct format or NULL (packed as the openmv package does:
 * little-endian, standard sizes, unless it starts with @ = < > !); args:
 * JSON array of its values or NULL. *data is NULL when the answer is
 * empty. */
OMV_API int omv_client_channel_ioctl(omv_client *c, int channel_id, int cmd,
				     const char *fmt, json_t *args,
				     unsigned char **data, size_t *len);
/* By-id channel access (the openmv Python package's underscore methods). */
OMV_API int omv_client_channel_size_id(omv_client *c, int channel_id, size_t *size);
/* *shape: malloc'd array of *count words. */
OMV_API int omv_client_channel_shape(omv_client *c, int channel_id, uint32_t **shape,
				     size_t *count);
OMV_API int omv_client_channel_read_id(omv_client *c, int channel_id, size_t offset,
				       size_t length, unsigned char **data, size_t *len);
OMV_API int omv_client_channel_write_id(omv_client *c, int channel_id, const void *data,
					size_t len, size_t offset);
OMV_API int omv_client_update_channels(omv_client *c);
/* A raw protocol command; *out is NULL when the answer is empty. */
OMV_API int omv_client_send_command(omv_client *c, int opcode, int channel,
				    const void *data, size_t len,
				    unsigned char **out, size_t *out_len);
OMV_API int omv_client_update_capabilities(omv_client *c, omv_caps *out);
/* *events: JSON array of {channel, event, name} not yet polled. */
OMV_API int omv_client_poll_events(omv_client *c, json_t **events);
/* *clients: JSON array describing omvd's clients. */
OMV_API int omv_client_clients(omv_client *c, json_t **clients);

OMV_API int omv_client_profiler_mode(omv_client *c, bool exclusive);
OMV_API int omv_client_profiler_reset(omv_client *c);
OMV_API int omv_client_profiler_event(omv_client *c, int counter_num, int event_id);
/* *records: the JSON array of profile records, or JSON null. */
OMV_API int omv_client_read_profile(omv_client *c, json_t **records);

/* ---- base64 (standard alphabet, padded), as used on the wire ------- */

/* NUL-terminated text; NULL when out of memory. */
OMV_API char *omv_base64_encode(const void *data, size_t len);
/* Strict, as omvd decodes: NULL (and *len 0) on anything but canonical
 * base64 (whitespace, bad padding, non-zero bits before the padding);
 * the buffer has one extra NUL byte after *len. */
OMV_API unsigned char *omv_base64_decode(const char *text, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
