/*
 * `portstack run --get URL` and `--post URL --data STRING|@FILE`
 * (repeatable): requests in order over one kept-alive connection per
 * server with the HTTP client, each result printed with a checksum of the
 * response body (FNV-1a 64), so a test can compare it with what the
 * server had (a file it served, or its digest of a body it was sent).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/http_client.h>
#include <portstack/socket.h>
#ifdef PS_HAVE_TLS
#include <portstack/tls.h>
#endif

#include "cli.h"

int cli_fetch_parse(const char *url, ps_ip4_t *addr, uint16_t *port, char *path, size_t pathlen)
{
    char host[32];
    bool tls = strncmp(url, "https://", 8) == 0;
    unsigned p = tls ? 443 : 80;
    if (!tls && strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + (tls ? 8 : 7), *slash = strchr(h, '/');
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

int cli_fetch_set_body(struct cli_fetch_item *it, const char *arg)
{
    if (arg[0] != '@') {
        it->body_len = strlen(arg);
        it->body = malloc(it->body_len + 1);
        if (!it->body)
            return -1;
        memcpy(it->body, arg, it->body_len + 1);
        return 0;
    }
    FILE *fp = fopen(arg + 1, "rb");
    if (!fp) {
        fprintf(stderr, "portstack run: --data: cannot read %s: %s\n", arg + 1, strerror(errno));
        return -1;
    }
    /* One byte more than allowed, to see a file that is too long. */
    it->body = malloc(PS_HTTP_CLIENT_MAX_REQUEST_BODY + 1);
    it->body_len = it->body ? fread(it->body, 1, PS_HTTP_CLIENT_MAX_REQUEST_BODY + 1, fp) : 0;
    bool bad = !it->body || ferror(fp), too_long = it->body_len > PS_HTTP_CLIENT_MAX_REQUEST_BODY;
    fclose(fp);
    if (bad || too_long) {
        if (too_long)
            fprintf(stderr, "portstack run: --data: %s is longer than %u bytes\n", arg + 1,
                    (unsigned)PS_HTTP_CLIENT_MAX_REQUEST_BODY);
        else
            fprintf(stderr, "portstack run: --data: cannot read %s\n", arg + 1);
        free(it->body);
        it->body = NULL;
        it->body_len = 0;
        return -1;
    }
    return 0;
}

static void on_response(void *ctx, const struct ps_http_response *r)
{
    struct cli_fetch *f = ctx;
    struct cli_fetch_item *it = &f->items[f->next];
    char what[300];
    if (it->post)
        snprintf(what, sizeof(what), "POST %s (%zu bytes)", it->path, it->body_len);
    else
        snprintf(what, sizeof(what), "GET %s", it->path);
    if (r->err) {
        char why[300] = "";
#ifdef PS_HAVE_TLS
        if (it->https && f->tls && r->err == -EACCES) /* what the certificate check said */
            ps_tls_config_last_error(f->tls, why, sizeof(why));
#endif
        printf("portstack: http: %s failed: %s%s%s%s\n", what, ps_strerror(r->err), *why ? " (" : "", why,
               *why ? ")" : "");
        f->failed = true;
    } else {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < r->body_len; i++)
            h = (h ^ (uint8_t)r->body[i]) * 0x100000001b3ULL;
        printf("portstack: http: %s -> %d, %zu bytes, fnv1a64 %016llx, %s connection\n", what, r->status,
               r->body_len, (unsigned long long)h, r->reused ? "reused" : "new");
        if (r->status >= 400)
            f->failed = true;
    }
    fflush(stdout);
    f->next++;
    f->busy = false;
}

/* A client for an https:// item: TLS with --cacert, the server's name
 * --servername or else the URL's address. */
static struct ps_http_client *https_client(struct cli_fetch *f, struct ps_stack *s, const struct cli_fetch_item *it,
                                           const char *addr)
{
#ifdef PS_HAVE_TLS
    if (!f->tls) {
        int err;
        char why[256] = "";
        f->tls = ps_tls_config_new(s, PS_TLS_CLIENT, cli_entropy, NULL, &err);
        if (f->tls && (err = ps_tls_config_ca_file(f->tls, f->cacert)) < 0) {
            ps_tls_config_last_error(f->tls, why, sizeof(why));
            ps_tls_config_free(f->tls);
            f->tls = NULL;
        }
        if (!f->tls)
            fprintf(stderr, "portstack run: cannot load --cacert %s: %s%s%s%s\n", f->cacert, ps_strerror(err),
                    *why ? " (" : "", why, *why ? ")" : "");
    }
    return f->tls ? ps_https_client_new(s, it->addr, it->port, f->servername ? f->servername : addr, f->tls) : NULL;
#else
    (void)f, (void)s, (void)it, (void)addr;
    return NULL; /* run.c refuses https:// without TLS */
#endif
}

void cli_fetch_pump(struct cli_fetch *f, struct ps_stack *s)
{
    while (!f->busy && f->next < f->n) {
        struct cli_fetch_item *it = &f->items[f->next];
        if (!f->client || f->addr != it->addr || f->port != it->port || f->https != it->https) {
            ps_http_client_free(f->client);
            char hostname[24];
            ps_ip4_ntoa(it->addr, hostname);
            f->client = it->https ? https_client(f, s, it, hostname) : ps_http_client_new(s, it->addr, it->port, hostname);
            f->addr = it->addr;
            f->port = it->port;
            f->https = it->https;
        }
        f->busy = true;
        int rc = f->client ? ps_http_request(f->client, it->post ? "POST" : "GET", it->path, it->body, it->body_len,
                                             on_response, f)
                           : -ENOMEM;
        if (rc < 0) {
            f->busy = false;
            printf("portstack: http: %s %s failed: %s\n", it->post ? "POST" : "GET", it->path, ps_strerror(rc));
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
    for (unsigned i = 0; i < f->n; i++) {
        free(f->items[i].body);
        f->items[i].body = NULL;
    }
    ps_http_client_free(f->client);
    f->client = NULL;
#ifdef PS_HAVE_TLS
    ps_tls_config_free(f->tls); /* after the client: its sessions first */
    f->tls = NULL;
#endif
}
