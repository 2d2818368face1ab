/*
 * The portstack command-line program: shared helpers of its commands.
 */
#ifndef PS_CLI_H
#define PS_CLI_H

#include <portstack/portstack.h>

/* Commands; argv[0] is the command name. Each returns the exit status. */
int cli_demo(int argc, char **argv);
int cli_run(int argc, char **argv);

/* One line in tcpdump's spirit describing an Ethernet frame
 * ("ARP who-has 192.0.2.1 tell 192.0.2.10", "192.0.2.10 > 198.51.100.20:
 * ICMP echo request id 1 seq 0, 64 bytes"). */
void cli_describe_frame(const uint8_t *frame, size_t len, char *out, size_t outlen);

/* "port" or "port (service)", the service's name for protocol proto
 * (PS_IP_PROTO_TCP or PS_IP_PROTO_UDP) when it has one; buf returned. */
const char *cli_port_name(uint16_t port, uint8_t proto, char buf[32]);

/* Print a stack's interfaces, routes, ARP cache and counters. */
void cli_print_stack(struct ps_stack *s, FILE *out, bool counters);

/* The --send client (bulk.c). */
struct cli_bulk {
    struct ps_stack *s;
    int fd;
    uint64_t to_send, sent, received, mismatches;
    bool shut, done;
    int err;
    ps_time_t started, finished;
};
/* Byte o of the test pattern. */
uint8_t cli_bulk_byte(uint64_t o);
/* Connect to addr:port to send `bytes`; 0 or a negative errno. */
int cli_bulk_start(struct cli_bulk *b, struct ps_stack *s, ps_ip4_t addr, uint16_t port, uint64_t bytes);
/* Send and receive what the socket takes now; true if anything moved. */
bool cli_bulk_pump(struct cli_bulk *b);
void cli_bulk_report(const struct cli_bulk *b, FILE *out);
void cli_bulk_close(struct cli_bulk *b);

/* The --get and --post fetcher (fetch.c). */
#define CLI_FETCH_MAX 8
struct cli_fetch_item {
    ps_ip4_t addr;
    uint16_t port;
    char path[256];
    bool post;         /* POST body (--data), else GET */
    bool https;        /* over TLS (https://) */
    char *body;        /* malloc'd, body_len bytes; NULL for none */
    size_t body_len;
};
struct cli_fetch {
    struct cli_fetch_item items[CLI_FETCH_MAX];
    unsigned n, next;
    bool busy, failed;
    struct ps_http_client *client;
    ps_ip4_t addr;
    uint16_t port;
    bool https;                 /* the client's connections are TLS */
    const char *cacert;         /* https: the CAs to verify with (--cacert) */
    const char *servername;     /* https: the name to verify, SNI (--servername) */
    struct ps_tls_config *tls;  /* made at the first https:// item */
};
/* "http://A.B.C.D[:PORT]/path" (or https://, port 443) -> parts; 0 or -1. */
int cli_fetch_parse(const char *url, ps_ip4_t *addr, uint16_t *port, char *path, size_t pathlen);
/* --data STRING or @FILE (at most PS_HTTP_CLIENT_MAX_REQUEST_BODY bytes)
 * as the body of a --post item; 0, or -1 with the reason printed. */
int cli_fetch_set_body(struct cli_fetch_item *it, const char *arg);
/* Start the next request when the previous one is done. */
void cli_fetch_pump(struct cli_fetch *f, struct ps_stack *s);
ps_time_t cli_fetch_poll(struct cli_fetch *f, ps_time_t now);
bool cli_fetch_done(const struct cli_fetch *f);
void cli_fetch_free(struct cli_fetch *f);

/* The DHCP, DNS and NTP servers of `run --serve` (servers.c). */
#define CLI_MAX_DNS_RECORDS 64 /* as many as the server holds (PS_DNSD_MAX_RECORDS) */
struct cli_servers {
    /* Set before cli_server_start: our address, the DHCP options. */
    ps_ip4_t addr, router, dns;
    uint8_t prefix;
    ps_ip4_t pool_first, pool_last;          /* --dhcp-pool */
    const char *records[CLI_MAX_DNS_RECORDS]; /* --dns-record */
    unsigned nrecords;
    struct ps_dhcpd *dhcpd;
    struct ps_dnsd *dnsd;
    struct ps_sntpd *sntpd;
};
/* "dhcp", "dns", "ntp"? */
bool cli_server_known(const char *name);
/* --dhcp-pool or --dns-record?  Then take its value: 0, or -1 (said why). */
bool cli_server_option(const char *opt);
int cli_server_opt(struct cli_servers *sv, const char *opt, const char *val);
/* Start server `name` on port (0: its own); 0, or -1 (said why). */
int cli_server_start(struct cli_servers *sv, struct ps_stack *s, const char *name, uint16_t port);
ps_time_t cli_servers_poll(struct cli_servers *sv, ps_time_t now);
/* Print their counters and stop them. */
void cli_servers_stop(struct cli_servers *sv, FILE *out);

/* The host's entropy for TLS, from getrandom() (run.c; the stack never
 * reads the system itself). */
int cli_entropy(void *ctx, uint8_t *buf, size_t len);

/* Microseconds as "12.345 ms". */
const char *cli_fmt_ms(ps_time_t us, char buf[32]);

#endif
