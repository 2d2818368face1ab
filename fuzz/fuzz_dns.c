/*
 * libFuzzer target: the DNS message parsers (src/apps/dns_msg.c): the stub
 * resolver's answer parser and the server's query parser.
 *
 * Input: [sel:1] then
 *   sel bit 0 clear  an answer: [n:1][name:n] then the reply.  The query it
 *                    answers is built from the name (with the reply's own
 *                    ID unless sel bit 1 is set, then 0x1234), so the
 *                    fuzzer reaches past the ID and question checks.
 *   sel bit 0 set    a query, as a server receives it.
 *
 * Oracles: the parsers stay within their buffers and their bounds; an
 * accepted answer's addresses number at most PS_DNS_MAX_ADDRS; a question
 * name the server accepts is one the resolver can ask: it builds into a
 * query whose question parses back to the same name.
 */
#include <string.h>

#include <portstack/wire.h>

#include "apps/dns_msg.h"
#include "fuzz_util.h"

static void fuzz_answer(struct fuzz_in *in, bool fixed_id)
{
    char name[256];
    size_t n;
    const uint8_t *nm = fuzz_bytes(in, fuzz_u8(in), &n);
    memcpy(name, nm, n);
    name[n] = '\0';
    uint16_t id = fixed_id || in->n < 2 ? 0x1234 : ps_get16(in->p);
    uint8_t q[DNS_MAX_UDP];
    size_t qlen = dns_build_query(q, id, name);
    if (!qlen)
        return;
    FUZZ_MUST(qlen <= DNS_MAX_UDP, "query longer than a UDP message");
    uint8_t *b = malloc(in->n ? in->n : 1); /* exactly the reply's size, for ASan */
    FUZZ_MUST(b != NULL, "malloc");
    memcpy(b, in->p, in->n);
    struct dns_answer a;
    if (dns_parse_answer(b, in->n, q, qlen, &a) == 0) {
        FUZZ_MUST(a.naddrs <= PS_DNS_MAX_ADDRS, "more addresses than the bound");
        FUZZ_MUST(a.id == id, "accepted an answer to another query");
        FUZZ_MUST(a.naddrs || a.ttl == 0, "a TTL without an address");
    }
    free(b);
}

static void fuzz_query(struct fuzz_in *in)
{
    uint8_t *b = malloc(in->n ? in->n : 1);
    FUZZ_MUST(b != NULL, "malloc");
    memcpy(b, in->p, in->n);
    struct dns_query_in q;
    int rc = dns_parse_query(b, in->n, &q);
    FUZZ_MUST(q.qend <= in->n, "question ends past the message");
    FUZZ_MUST(memchr(q.name, 0, sizeof(q.name)) != NULL, "name not terminated");
    if (rc == 0 && q.name[0]) {
        FUZZ_MUST(strlen(q.name) <= PS_DNS_MAX_NAME, "name longer than 253");
        uint8_t m[DNS_MAX_UDP];
        size_t len = dns_build_query(m, q.id, q.name);
        FUZZ_MUST(len > 0, "an accepted question name cannot be asked");
        struct dns_query_in back;
        FUZZ_MUST(dns_parse_query(m, len, &back) == 0 && !strcmp(back.name, q.name) && back.id == q.id,
                  "question name round trip");
    }
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t sel = fuzz_u8(&in);
    if (sel & 1)
        fuzz_query(&in);
    else
        fuzz_answer(&in, sel & 2);
    return 0;
}
