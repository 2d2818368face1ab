/*
 * `portstack run --get URL` (repeatable): fetch URLs in order over one
 * kept-alive connection per server with the HTTP client, and print each
 * result with a checksum of the body (FNV-1a 64), so a test can compare it
 * with the file it served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/http_client.h>
#include <portstack/socket.h>

#include "cli.h"

int cli_fetch_parse(const char *url, ps_ip4_t *addr, uint16_t *port, char *path, size_t pathlen)
{
    char host[32];
    unsigned p = 80;
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *colon = strchr(host, ':');
    if (colon) {
        *colon = '\0';
        char *end;
        p = (unsigned)strtoul(colon + 1, &end, 10);
        if (*end || p < 1 || p > 65535)
            return -1;
    }
    if (ps_ip4_aton(host, addr) != 0)
        return -1; /* a name would need the resolver first: addresses only */
    *port = (uint16_t)p;
    snprintf(path, pathlen, "%s", slash ? slash : "/");
    return 0;
}

static void on_response(void *ctx, const struct ps_http_response *r)
{
    struct cli_fetch *f = ctx;
    struct cli_fetch_item *it = &f->items[f->next];
    if (r->err) {
        printf("portstack: http: GET %s failed: %s\n", it->path, ps_strerror(r->err));
        f->failed = true;
    } else {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < r->body_len; i++)
            h = (h ^ (uint8_t)r->body[i]) * 0x100000001b3ULL;
        printf("portstack: http: GET %s -> %d, %zu bytes, fnv1a64 %016llx, %s connection\n", it->path, r->status,
               r->body_len, (unsigned long long)h, r->reused ? "reused" : "new");
        if (r->status >= 400)
            f->failed = true;
    }
    fflush(stdout);
    f->next++;
    f->busy = false;
}

void cli_fetch_pump(struct cli_fetch *f, struct ps_stack *s)
{
    while (!f->busy && f->next < f->n) {
        struct cli_fetch_item *it = &f->items[f->next];
        if (!f->client || f->addr != it->addr || f->port != it->port) {
            ps_http_client_free(f->client);
            char hostname[24];
            ps_ip4_ntoa(it->addr, hostname);
            f->client = ps_http_client_new(s, it->addr, it->port, hostname);
            f->addr = it->addr;
            f->port = it->port;
        }
        f->busy = true;
        int rc = f->client ? ps_http_request(f->client, "GET", it->path, NULL, 0, on_response, f) : -12;
        if (rc < 0) {
            f->busy = false;
            printf("portstack: http: GET %s failed: %s\n", it->path, ps_strerror(rc));
            f->failed = true;
            f->next++;
        }
    }
}

ps_time_t cli_fetch_poll(struct cli_fetch *f, ps_time_t now)
{
    return f->client ? ps_http_client_poll(f->client, now) : PS_TIME_NEVER;
}

bool cli_fetch_done(const struct cli_fetch *f)
{
    return f->next == f->n && !f->busy;
}

void cli_fetch_free(struct cli_fetch *f)
{
    ps_http_client_free(f->client);
    f->client = NULL;
}
