/*
 * gzip for JSON replies (Content-Encoding, RFC 9110 §8.4): a reply is compressed when the
 * client accepts gzip (Accept-Encoding: gzip, x-gzip or *, with q > 0) and its JSON body is
 * over GZIP_MIN bytes; smaller ones gain nothing worth the CPU. Only application/json bodies
 * (downloads are streamed files with their own Content-Length and ranges; they stay as they
 * are). Vary: Accept-Encoding is sent on every JSON reply that could have been compressed, so
 * a cache never serves one encoding to a client that asked for the other.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "api/api_int.h"
#include "core/mem.h"

#define GZIP_MIN 1024

/* Whether accept (an Accept-Encoding value) allows gzip. */
static bool accepts_gzip(const char *accept)
{
    while (accept != NULL && *accept != '\0') {
        size_t len, name;
        const char *q;

        accept += strspn(accept, " \t,");
        len = strcspn(accept, ",");
        name = strcspn(accept, " \t;,");
        if ((name == 4 && strncasecmp(accept, "gzip", 4) == 0) ||
            (name == 6 && strncasecmp(accept, "x-gzip", 6) == 0) ||
            (name == 1 && accept[0] == '*')) {
            q = memchr(accept, ';', len);
            if (q == NULL)
                return true;
            q += 1 + strspn(q + 1, " \t");
            if (strncasecmp(q, "q=", 2) != 0 || strtod(q + 2, NULL) > 0.0)
                return true;
        }
        accept += len;
    }
    return false;
}

void tw_reply_maybe_gzip(struct tw_req *r)
{
    struct evkeyvalq *out_h = evhttp_request_get_output_headers(r->ev);
    struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
    const char *type = evhttp_find_header(out_h, "Content-Type");
    size_t len = evbuffer_get_length(out);
    unsigned char *in, *zbuf;
    z_stream z;
    size_t cap;

    if (type == NULL || strcmp(type, "application/json") != 0 ||
        evhttp_find_header(out_h, "Content-Encoding") != NULL)
        return;
    evhttp_add_header(out_h, "Vary", "Accept-Encoding");
    if (len <= GZIP_MIN || !accepts_gzip(tw_req_header(r, "Accept-Encoding")))
        return;
    in = evbuffer_pullup(out, -1);
    cap = compressBound((uLong)len) + 32;
    zbuf = tw_malloc(cap);
    if (in == NULL || zbuf == NULL) {
        tw_free(zbuf);
        return; /* send it uncompressed */
    }
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        tw_free(zbuf);
        return;
    }
    z.next_in = in;
    z.avail_in = (uInt)len;
    z.next_out = zbuf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        evbuffer_drain(out, len);
        evbuffer_add(out, zbuf, z.total_out);
        evhttp_add_header(out_h, "Content-Encoding", "gzip");
    }
    deflateEnd(&z);
    tw_free(zbuf);
}
