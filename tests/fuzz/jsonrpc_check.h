/*
 * The oracle of the JSON-RPC harnesses: what omvd writes to a client must
 * be JSON-RPC 2.0 (docs/rpc.md), line by line, and answer the client's
 * request lines one for one. Any violation fails (fuzz_fail) naming the
 * offending line.
 */
#ifndef FUZZ_JSONRPC_CHECK_H
#define FUZZ_JSONRPC_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * One output line (without its newline), parsed strictly. Returns the
 * notification or response (or batch of responses) after checking its
 * shape; the caller owns it. *is_notification tells which.
 */
json_t *jrc_parse_line(const char *line, size_t len, int *is_notification);

/*
 * The whole exchange of one connection: the bytes the client sent (then
 * EOF), and everything it got back until the daemon closed. Checks every
 * line's shape and that the responses match the request lines in order:
 * one response per request with an id, none for notifications and blank
 * lines, a batch answered by one array, a line over max_request answered
 * by -32007 and nothing after it.
 */
void jrc_check_exchange(const uint8_t *in, size_t in_len, size_t max_request,
			const char *out, size_t out_len);

#endif
