/*
 * The request-head parser.  Strict where leniency is a security problem
 * (RFC 9112 11: request smuggling): bare CR, whitespace before a colon,
 * obsolete line folding, a Content-Length that is not one plain number or
 * that disagrees with another, and Content-Length with chunked, are all
 * refused with 400.
 */
#include "apps/http_parse.h"

#include <string.h>
#include <strings.h>

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/* The first CRLF in [p, end), or end; the head is known to end in one. */
static const char *find_crlf(const char *p, const char *end)
{
    while (p + 1 < end && !(p[0] == '\r' && p[1] == '\n'))
        p++;
    return p + 1 < end ? p : end;
}

bool http_has_token(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t e = j;
        while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - i == tl && strncasecmp(v + i, token, tl) == 0)
            return true;
        i = j;
    }
    return false;
}

size_t http_head_end(const char *buf, size_t len, size_t max, size_t *next)
{
    size_t i = *next;
    for (; i + 3 < len && i + 4 <= max; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            *next = i; /* found again at once if asked again */
            return i + 4;
        }
    *next = i;
    return 0;
}

int http_parse_request(const char *buf, size_t len, size_t max, struct http_request *r)
{
    size_t next = 0, end = http_head_end(buf, len, max, &next);
    if (!end) {
        memset(r, 0, sizeof(*r));
        r->content_length = -1;
        return len >= max ? HTTP_PARSE_TOO_LONG : HTTP_PARSE_NEED_MORE;
    }
    return http_parse_head(buf, end, r);
}

int http_parse_head(const char *buf, size_t end, struct http_request *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    r->head_len = end;
    for (size_t i = 0; i < end; i++) /* no bare CR or LF, no NUL */
        if ((buf[i] == '\r' && buf[i + 1] != '\n') || (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) ||
            buf[i] == '\0')
            return HTTP_PARSE_BAD;
    /* Request line: method SP target SP HTTP/1.x CRLF */
    const char *p = buf, *hend = buf + end, *eol = find_crlf(buf, hend);
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p)
        return HTTP_PARSE_BAD;
    for (const char *q = p; q < sp1; q++)
        if (!tchar(*q))
            return HTTP_PARSE_BAD;
    size_t ml = (size_t)(sp1 - p);
    r->method = ml == 3 && !memcmp(p, "GET", 3)    ? HTTP_GET
                : ml == 4 && !memcmp(p, "HEAD", 4) ? HTTP_HEAD
                : ml == 4 && !memcmp(p, "POST", 4) ? HTTP_POST
                                                   : HTTP_OTHER;
    const char *tgt = sp1 + 1, *sp2 = memchr(tgt, ' ', (size_t)(eol - tgt));
    if (!sp2 || sp2 == tgt)
        return HTTP_PARSE_BAD;
    if ((size_t)(sp2 - tgt) >= HTTP_MAX_TARGET)
        return HTTP_PARSE_URI_TOO_LONG;
    for (const char *q = tgt; q < sp2; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return HTTP_PARSE_BAD;
    memcpy(r->target, tgt, (size_t)(sp2 - tgt));
    const char *ver = sp2 + 1;
    if (eol - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || ver[7] < '0' || ver[7] > '9')
        return eol - ver == 8 && !memcmp(ver, "HTTP/", 5) ? HTTP_PARSE_VERSION : HTTP_PARSE_BAD;
    r->minor = ver[7] - '0';
    /* Header fields. */
    for (p = eol + 2; p < buf + end - 2; p = eol + 2) {
        eol = find_crlf(p, hend);
        if (*p == ' ' || *p == '\t')
            return HTTP_PARSE_BAD; /* obsolete line folding */
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return HTTP_PARSE_BAD;
        for (const char *q = p; q < colon; q++)
            if (!tchar(*q))
                return HTTP_PARSE_BAD; /* includes whitespace before the colon */
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        const char *ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
        if (nl == 4 && !strncasecmp(p, "Host", 4)) {
            if (r->has_host)
                return HTTP_PARSE_BAD; /* RFC 9112 3.2: exactly one */
            r->has_host = true;
        } else if (nl == 10 && !strncasecmp(p, "Connection", 10)) {
            r->conn_close |= http_has_token(v, vl, "close");
            r->conn_keep_alive |= http_has_token(v, vl, "keep-alive");
        } else if (nl == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
            if (!http_has_token(v, vl, "chunked"))
                return HTTP_PARSE_BAD;
            r->chunked = true;
        } else if (nl == 14 && !strncasecmp(p, "Content-Length", 14)) {
            long n = 0;
            if (vl == 0 || vl > 12)
                return HTTP_PARSE_BAD;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return HTTP_PARSE_BAD;
                n = n * 10 + (v[i] - '0');
            }
            if (r->content_length >= 0 && r->content_length != n)
                return HTTP_PARSE_BAD;
            r->content_length = n;
        }
    }
    if (r->chunked && r->content_length >= 0)
        return HTTP_PARSE_BAD; /* RFC 9112 6.1: a smuggling signature */
    if (r->minor >= 1 && !r->has_host)
        return HTTP_PARSE_BAD;
    return HTTP_PARSE_OK;
}
