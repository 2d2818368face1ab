/*
 * IPv4 fragmentation on output (RFC 791 3.2, RFC 1812 5.2.6): split a
 * packet that exceeds the MTU into fragments whose payloads are multiples
 * of 8 bytes.  Works on fragments too (a router may fragment a fragment):
 * offsets are relative to the original, and the last piece keeps the
 * original's More Fragments bit.  Only options with the "copied" flag go
 * into the second and later fragments.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"

/* Copy the options that must appear in every fragment; returns the padded
 * length written to out. */
static size_t copied_options(const struct ps_ipv4_hdr *h, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < h->options_len;) {
        uint8_t type = h->options[i];
        if (type == PS_IPOPT_EOL)
            break;
        if (type == PS_IPOPT_NOP) {
            i++;
            continue;
        }
        uint8_t len = h->options[i + 1]; /* validated by the parser */
        if (PS_IPOPT_COPIED(type)) {
            memcpy(out + n, h->options + i, len);
            n += len;
        }
        i += len;
    }
    while (n % 4)
        out[n++] = PS_IPOPT_EOL;
    return n;
}

int ps_ipv4_fragment(struct ps_stack *s, struct ps_iface *ifc, const ps_mac_t *dst, struct ps_pbuf *p)
{
    struct ps_ipv4_hdr h;
    if (ps_ipv4_parse(p->data, p->len, &h) < 0) {
        ps_pbuf_free(s, p);
        return -EINVAL;
    }
    const uint8_t *payload = p->data + h.hlen;
    size_t plen = (size_t)h.total_len - h.hlen;
    uint8_t later_opts[PS_IPV4_MAX_HLEN];
    size_t later_opts_len = copied_options(&h, later_opts);
    int rc = 0;

    for (size_t off = 0; off < plen;) {
        bool first = off == 0;
        size_t hlen = first ? h.hlen : PS_IPV4_HLEN + later_opts_len;
        size_t room = ((size_t)ifc->mtu - hlen) & ~(size_t)7;
        size_t chunk = plen - off;
        bool last = chunk <= room;
        if (!last)
            chunk = room;
        struct ps_pbuf *f = ps_pbuf_alloc(s, hlen + chunk);
        if (!f) {
            rc = -ENOBUFS;
            break;
        }
        struct ps_ipv4_hdr fh = h;
        fh.total_len = (uint16_t)(hlen + chunk);
        fh.frag_off = (uint16_t)(h.frag_off + off);
        fh.mf = last ? h.mf : true;
        if (!first) {
            fh.options = later_opts;
            fh.options_len = (uint8_t)later_opts_len;
        }
        ps_ipv4_emit(f->data, &fh);
        memcpy(f->data + hlen, payload + off, chunk);
        PS_STAT_INC(s, ip_frag_tx);
        int r = ps_eth_output(s, ifc, dst, PS_ETHERTYPE_IPV4, f);
        if (r < 0 && rc == 0)
            rc = r;
        off += chunk;
    }
    ps_pbuf_free(s, p);
    return rc;
}
