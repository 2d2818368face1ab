/*
 * HTTP/1.1 request heads (RFC 9112 section 3 and 5): a pure parser, so it
 * can be fuzzed on its own.  Finding where a head ends is resumable, so a
 * head that arrives in pieces is searched once in all, not once per piece.
 */
#ifndef PS_APPS_HTTP_PARSE_H
#define PS_APPS_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_TARGET 1024

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

struct http_request {
    enum http_method method;
    char target[HTTP_MAX_TARGET];
    int minor;              /* HTTP/1.minor */
    bool has_host;
    bool conn_close, conn_keep_alive;
    bool chunked;           /* Transfer-Encoding: chunked */
    long content_length;    /* -1 absent */
    size_t head_len;        /* bytes of the head, CRLFCRLF included */
};

/* Outcomes of parsing. */
enum { HTTP_PARSE_OK = 0, HTTP_PARSE_NEED_MORE = 1, HTTP_PARSE_BAD = -400, HTTP_PARSE_TOO_LONG = -431,
       HTTP_PARSE_URI_TOO_LONG = -414, HTTP_PARSE_VERSION = -505 };

/* Parse the head at the start of buf[0..len).  max bounds the head size. */
int http_parse_request(const char *buf, size_t len, size_t max, struct http_request *r);

/* The length of the head at the start of buf[0..len) (its CRLFCRLF
 * included), or 0 while it has not ended; a head ends within its first max
 * bytes or is too long.  *next is where the search resumes: 0 for a new
 * head, then left for the next call on the same head (buf[0..len) may only
 * have grown since), so each position is looked at once however the head
 * arrives.  *next never passes the start of the CRLFCRLF found. */
size_t http_head_end(const char *buf, size_t len, size_t max, size_t *next);

/* Does the comma-separated header value v[0..n) list token (compared
 * without regard to case, white space around it ignored)? */
bool http_has_token(const char *v, size_t n, const char *token);

/* Parse buf[0..head_len), a whole head as http_head_end found it: one of
 * the outcomes above other than NEED_MORE and TOO_LONG. */
int http_parse_head(const char *buf, size_t head_len, struct http_request *r);

#endif
