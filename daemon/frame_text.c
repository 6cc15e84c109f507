/* Frame objects and read_frame replies as text (see frame_text.h). */
#include "frame_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "rpc_client.h"

/* The members every frame object has, from its opening brace. */
static int metadata(char *out, size_t cap, const struct frame *f)
{
	int64_t ts = f->timestamp_us;

	return snprintf(out, cap,
			"{\"number\":%" PRIu64 ",\"width\":%" PRIu32 ",\"height\":%" PRIu32
			",\"format\":%" PRIu32 ",\"depth\":%" PRIu32 ",\"raw_size\":%zu"
			",\"timestamp\":%" PRId64 ".%06" PRId64 ",\"fps\":%.2f",
			f->number, f->hdr.width, f->hdr.height, f->hdr.pixformat, f->hdr.size,
			frame_raw_size(f), ts / 1000000, ts % 1000000, f->fps);
}

static struct shared_line *text_of(const char *head, size_t len)
{
	struct shared_line *l = shared_line_alloc(len);

	if (l != NULL)
		memcpy(l->data, head, len);
	return l;
}

struct shared_line *frame_text_object(struct frame *f, enum frame_encoding enc, bool shm,
				      struct frame_codec *codec)
{
	const struct frame_image *img = NULL;
	const char *name = frame_encoding_name(enc);
	struct shared_line *l;
	char head[512];
	size_t b64;
	int n;

	n = metadata(head, sizeof head, f);
	if (n < 0 || (size_t)n >= sizeof head - 64)
		return NULL;
	if (enc != FRAME_ENC_NONE) {
		if (shm)
			frame_shm(f, enc, codec);
		img = frame_image(f, enc, codec);
	}
	if (img != NULL && img->data != NULL && shm && img->shm_fd >= 0) {
		n += snprintf(head + n, sizeof head - (size_t)n,
			      ",\"encoding\":\"%s\",\"shm\":{\"size\":%zu}}", name, img->len);
		return (size_t)n < sizeof head ? text_of(head, (size_t)n) : NULL;
	}
	if (img == NULL || img->data == NULL || shm) {
		/* Metadata only: nothing asked, or not possible in that encoding. */
		head[n++] = '}';
		return text_of(head, (size_t)n);
	}
	n += snprintf(head + n, sizeof head - (size_t)n, ",\"encoding\":\"%s\",\"data\":\"", name);
	if ((size_t)n >= sizeof head)
		return NULL;
	b64 = omv_b64_encoded_len(img->len);
	if ((l = shared_line_alloc((size_t)n + b64 + 2)) == NULL)
		return NULL;
	memcpy(l->data, head, (size_t)n);
	omv_b64_encode_to(img->data, img->len, l->data + n);
	memcpy(l->data + n + b64, "\"}", 2);
	return l;
}

char *frame_text_reply(const struct shared_line *obj, const char *id, size_t *len)
{
	static const char head1[] = "{\"jsonrpc\":\"2.0\",\"id\":", head2[] = ",\"result\":";
	size_t id_len = strlen(id);
	char *out, *p;

	*len = sizeof head1 - 1 + id_len + sizeof head2 - 1 + obj->len + 2;
	out = malloc(*len);
	if (out == NULL)
		return NULL;
	p = out;
	memcpy(p, head1, sizeof head1 - 1);
	p += sizeof head1 - 1;
	memcpy(p, id, id_len);
	p += id_len;
	memcpy(p, head2, sizeof head2 - 1);
	p += sizeof head2 - 1;
	memcpy(p, obj->data, obj->len);
	p += obj->len;
	memcpy(p, "}\n", 2);
	return out;
}
