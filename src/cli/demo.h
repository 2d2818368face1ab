/*
 * `portstack demo`: the camera story's world, shared by demo.c (the
 * options and the steps), demo_net.c (hosts, wires, capture, the socket
 * tables and their JSON twin) and demo_tls.c (the demo's certificates).
 */
#ifndef PS_CLI_DEMO_H
#define PS_CLI_DEMO_H

#include <stdio.h>

#include <portstack/portstack.h>
#include <portstack/sntp.h>
#include <portstack/socket.h>

/* The hosts, in the order their tables are printed. */
enum demo_host { DEMO_CAMERA, DEMO_LAPTOP, DEMO_INFRA, DEMO_ROUTER, DEMO_SERVER, DEMO_NHOSTS };
/* A set of hosts, for demo_tables(). */
#define DEMO_HOST(h) (1u << (h))

#define DEMO_LAN_ROUTER PS_IP4(192, 0, 2, 1)
#define DEMO_LAN_INFRA PS_IP4(192, 0, 2, 2)
#define DEMO_LAN_LAPTOP PS_IP4(192, 0, 2, 20)
#define DEMO_POOL_FIRST PS_IP4(192, 0, 2, 100)
#define DEMO_POOL_LAST PS_IP4(192, 0, 2, 149)
#define DEMO_WAN_ROUTER PS_IP4(198, 51, 100, 1)
#define DEMO_WAN_SERVER PS_IP4(198, 51, 100, 10)
#define DEMO_CAMERA_PORT 8000
#define DEMO_SERVER_NAME "server.example"
/* The server's clock (it has a GPS receiver): 2030-01-01 00:00:00 UTC,
 * within the demo certificate's validity. */
#define DEMO_SERVER_EPOCH_S 1893456000LL
/* A host loop looks at its applications at least this often. */
#define DEMO_POLL_MAX PS_MS(100)
/* Frames narrated per step, at most. */
#define DEMO_NARRATE_MAX 16

struct demo {
    uint64_t seed;
    double loss;
    struct ps_sim *sim;
    struct ps_pcap *pcap;
    FILE *json;           /* --json, or NULL */
    unsigned snapshots;   /* tables written to the JSON so far */
    int narrate;          /* frames left to print */
    struct ps_stack *host[DEMO_NHOSTS];
    struct ps_iface *ifc[2 * DEMO_NHOSTS];
    unsigned nifc;
    /* Applications, polled by one poller as a host loop would. */
    struct ps_dhcpd *dhcpd;
    struct ps_dnsd *dnsd;
    struct ps_sntpd *sntpd;
    struct ps_http_server *cam_http, *srv_https;
    struct ps_dhcp *dhcp;
    struct ps_dns *dns;
    struct ps_sntp *sntp;
    struct ps_http_client *uplink, *browser[2];
    struct ps_tls_config *tls_client, *tls_server; /* NULL without TLS */
};

/* demo_net.c: build the five hosts and two links, capturing every frame
 * to pcap_path (NULL: none).  0, or -1 (said why on stderr). */
int demo_world_new(struct demo *d, const char *pcap_path);
void demo_world_free(struct demo *d);
/* Stop capturing (the story is told; what the hosts say while shutting
 * down is not part of it) and close the pcap; returns the frames in it. */
uint64_t demo_capture_stop(struct demo *d);
const char *demo_host_name(enum demo_host h);
/* Print the socket tables of the hosts in `hosts` (a bit mask of 1 <<
 * enum demo_host) and add them to the JSON as snapshot `title`. */
void demo_tables(struct demo *d, const char *title, unsigned hosts);
/* Bring every stack's clock to the world's, before a step acts on them
 * (nothing is due then: the world has run everything up to now). */
void demo_sync(struct demo *d);
/* Run the world until cond(ctx) or `limit` more virtual time; true if
 * cond became true. */
bool demo_run_until(struct demo *d, bool (*cond)(void *ctx), void *ctx, ps_time_t limit);
/* A frame as one line: TCP in detail, everything else as cli_describe_frame. */
void demo_describe_frame(const uint8_t *frame, size_t len, char *out, size_t outlen);
/* The JSON document: begin (with the seed), end (with the summary object
 * text, already JSON). */
void demo_json_begin(struct demo *d, bool tls);
void demo_json_end(struct demo *d, const char *summary);
/* An address:port as JSON-safe text. */
const char *demo_endpoint(ps_ip4_t a, uint16_t port, char buf[32]);

/* An HTTP response as the story keeps it. */
struct seen {
    bool done;
    int err, status;
    size_t len;
    char body[160];
    bool lists_itself; /* the page named the very connection that fetched it */
};

/* demo_steps.c: what the steps found out, for the summary. */
struct story {
    struct demo *d;
    bool tls;
    ps_ip4_t camera_addr, server_addr;
    int dns_err, sntp_err;
    bool dns_done, sntp_done;
    struct ps_sntp_result sntp;
    struct seen uplink, page[2];
    struct ps_sockaddr_in page_local[2]; /* the laptop's end of each fetch */
};

/* Start infra's DHCP and DNS servers and the server's NTP and HTTPS (or
 * plain HTTP) services. */
void demo_start_servers(struct demo *d, struct story *y);
/* The steps, in order; each prints its part of the story and returns
 * whether it went as told. */
bool demo_step_dhcp(struct demo *d, struct story *y);
bool demo_step_dns(struct demo *d, struct story *y);
bool demo_step_sntp(struct demo *d, struct story *y);
bool demo_step_listen(struct demo *d);
bool demo_step_uplink(struct demo *d, struct story *y);
bool demo_step_laptop(struct demo *d, struct story *y);
/* The world's time as "12.345 ms". */
const char *demo_now_ms(struct demo *d, char buf[32]);

/* demo_tls.c: TLS configurations for the camera (verifies the server's
 * certificate against the demo CA) and the server.  false without TLS in
 * this build, or if they cannot be made (said why). */
bool demo_tls_setup(struct demo *d);
void demo_tls_free(struct demo *d);

#endif
