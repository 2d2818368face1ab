/*
 * The demo's TLS: a certificate authority of its own, the certificate it
 * signed for server.example (an RSA-2048 key, valid 2026-11-26 to 2126), and the
 * two configurations made from them.  The private key is published here:
 * it secures nothing but this simulation.  Keys and nonces come from the
 * stacks' seeded generators (ps_tls_entropy_from_stack), never for real
 * use, so the demo replays.
 */
#include <stdio.h>

#include "demo.h"

#if PS_HAVE_TLS
#include <portstack/tls.h>

/* "portstack demo CA": the camera trusts it (as a device trusts the CA
 * its maker put in its firmware). */
static const char demo_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnzCCAUWgAwIBAgIUeCrN0kKzI612kbMTV2pypWjVhowwCgYIKoZIzj0EAwIw\n"
    "HDEaMBgGA1UEAwwRcG9ydHN0YWNrIGRlbW8gQ0EwIBcNMjYxMTI2MjAxMzE5WhgP\n"
    "MjEyNjExMDIyMDEzMTlaMBwxGjAYBgNVBAMMEXBvcnRzdGFjayBkZW1vIENBMFkw\n"
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmdGY39ySELjM5AcMVpIm2PFtXlCk6f3/\n"
    "WpVKw3zZuRTaPdJFlqPKq/dP6b0fH/777c6h0ZwEk/u70Vsd9PCf56NjMGEwHQYD\n"
    "VR0OBBYEFGi8pfhkaFrg6IAVJ3NeiLnbrutSMB8GA1UdIwQYMBaAFGi8pfhkaFrg\n"
    "6IAVJ3NeiLnbrutSMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMAoG\n"
    "CCqGSM49BAMCA0gAMEUCIHuNqB6PRJuuEaYV77QuOFBVcXbVAAGJPklcKwGYY4p3\n"
    "AiEA0cGCaJSVXcCpNADy1x0nFu032vVU1EXruG7nbnb1PfQ=\n"
    "-----END CERTIFICATE-----\n";

static const char demo_server_crt_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICkjCCAjmgAwIBAgIUfkYmI+QIXb5OlTEZd0GCnHSXQGMwCgYIKoZIzj0EAwIw\n"
    "HDEaMBgGA1UEAwwRcG9ydHN0YWNrIGRlbW8gQ0EwIBcNMjYxMTI2MjAxODU3WhgP\n"
    "MjEyNjExMDIyMDE4NTdaMBkxFzAVBgNVBAMMDnNlcnZlci5leGFtcGxlMIIBIjAN\n"
    "BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtA5bKJa9JZi8Q+n9AZaIkCcKSknp\n"
    "SBI36WnzK8eAR9zkZsz07H3o8w9+TXV4owxJj/AV/UqVjlnsL5B6Op63psKsX4Ze\n"
    "LmP+8CkcSB40oI4/RSYtCNweHJ7hx60Skf2lrMRaC6SFM8XVByBuf6uJOBByB62d\n"
    "kOvmIbPVV8pBi1lplPxr13okZSiZWc8Q1aBqGJ2QflTTPIe3dH3MP6/sxFe7w0Lp\n"
    "IzpQ/qBtOgtX+LxmESOHsfP7u75Yxt7pgouRW6M+MiQVS5H3noXSpxpFO2iIvzhD\n"
    "vFE+hwaovUAHqh64ItWXLXro1K/bv3xrWR2x4JNRZXYz2MC7c90/aCPy2wIDAQAB\n"
    "o4GOMIGLMBkGA1UdEQQSMBCCDnNlcnZlci5leGFtcGxlMAkGA1UdEwQCMAAwDgYD\n"
    "VR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBQm4KYj\n"
    "QWGRI6jyHsLTrja8IZnBrjAfBgNVHSMEGDAWgBRovKX4ZGha4OiAFSdzXoi5267r\n"
    "UjAKBggqhkjOPQQDAgNHADBEAiAC9BV9qgZGMHgq4Sim8A0MjsWYjuNNgxj+FsWy\n"
    "G9r7XAIgeKSyYLNz2S51hsghxSzEHizGBwT6QxCDDiOBIkiT70M=\n"
    "-----END CERTIFICATE-----\n";

/* RSA, so that its signatures (and so the handshake's records) are the
 * same size every run: mbedTLS mixes the host's clock into the hello
 * messages, and a DER-encoded ECDSA signature over them varies by a byte
 * or two, which would shift every later sequence number. */
static const char demo_server_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC0Dlsolr0lmLxD\n"
    "6f0BloiQJwpKSelIEjfpafMrx4BH3ORmzPTsfejzD35NdXijDEmP8BX9SpWOWewv\n"
    "kHo6nremwqxfhl4uY/7wKRxIHjSgjj9FJi0I3B4cnuHHrRKR/aWsxFoLpIUzxdUH\n"
    "IG5/q4k4EHIHrZ2Q6+Yhs9VXykGLWWmU/GvXeiRlKJlZzxDVoGoYnZB+VNM8h7d0\n"
    "fcw/r+zEV7vDQukjOlD+oG06C1f4vGYRI4ex8/u7vljG3umCi5Fboz4yJBVLkfee\n"
    "hdKnGkU7aIi/OEO8UT6HBqi9QAeqHrgi1ZcteujUr9u/fGtZHbHgk1FldjPYwLtz\n"
    "3T9oI/LbAgMBAAECggEAFVf2T7NpVyw/H5XRxf8VenEGST7FsSNnuVAz4SappYXL\n"
    "wAaKVKuq53/DVbntGPbQlDK+MzjveDZfRwF2BmjgwEXSBRN6f+lJQ9K7utjJyEEp\n"
    "wtqppU6NIJC87DHZ7QWyPplFS0gEpNnN93r4CO5JOnod6kcW/HeE33iKe6OgGBJy\n"
    "2JZE5doLf33+cmEpP07w2BGs8TdRaBKSj/QI3CbAEzApFX86bDhZoMoEpcwTZalh\n"
    "OgVzxvF2MxRhBzc6C8HVX3w8xySytA7Krcqz/yBBPK2iyuBC6jyEZCVrwu6TLRJ5\n"
    "kJN733seWvtO6kD/n3E33HXfR/qsIPVXr/f8FlKpQQKBgQDqCe4VeBmnD0zRPTX/\n"
    "WHuBHHKMG6yaEhiVJomRS5s+UWTQEZ+YrrMKQ5NETFrOoHMxxKi+jHvdH1XPnuQ9\n"
    "LdrY0L+KLIzUEys79gLW9TcgvSzqW1xssfV5CrIyWztmVZfLohX+f4lSsqprZ0u7\n"
    "8fjpTJs4sU4E/75pAGwjhotaCwKBgQDE86fZUsehr8rvDLpA0ND8LJ0WsyQ3KivS\n"
    "wskJA0CAVscEujemG2BaWuJzFBxc6TsouBTWDQVzJnY9mPorlZyJ1nlpFd1n0PIk\n"
    "tvzDFmKi5D+L62oHEcI2VqNVLT0Kv0MQV87wCepdOx7Wg0ufas6DipNKiI0D6UiD\n"
    "LZIPWVgccQKBgC3yGR154H9dj5UcUTd55XUpYouC+1Wb69uMH0G4+Bc533LBovVU\n"
    "hq2jKowj+UfLVBIXK5GM/twgRLZn2SLxl58tDA1SRat0v+4bk98jcNkqimDP4ssr\n"
    "/KbwpJ8iLf0fHJfLkEnQO+NSVAaV1tZk4JrcgTSWCl0M4BK5FIG87iqVAoGBAJdp\n"
    "+xDI41EapRlC364U25YDdoGNF7qRYT+XIJcdOOlxzW+E+mNpiJnuZUmznFqRtDmJ\n"
    "y/sD57yvRRf2E96OFtqhWJXBiYXWzVIMnCYff5VbhL89LTZiIL1Fviwtq1An2pcl\n"
    "6qH//X3PhdXE+s6EfmACmVojwMXRAz5WOoQyW9sBAoGAQv+fCvvss0ovYBy3RLVW\n"
    "3L19Xh55jGNZZ+W/ANs3JaQquHAY0fAvmLy/b+d/KevabzItXhinjakzN0egO582\n"
    "mnp8yV5otQ3w19dThHE+rYZtDVLSOzxeH5Q5j3L745FttoQ8J2pTYPsn5Qm776Fd\n"
    "heavyYakT65TtX1vBtGFv5A=\n"
    "-----END PRIVATE KEY-----\n";

bool demo_tls_setup(struct demo *d)
{
    int err;
    char why[160];
    d->tls_client = ps_tls_config_new(d->host[DEMO_CAMERA], PS_TLS_CLIENT, ps_tls_entropy_from_stack,
                                      d->host[DEMO_CAMERA], &err);
    d->tls_server = ps_tls_config_new(d->host[DEMO_SERVER], PS_TLS_SERVER, ps_tls_entropy_from_stack,
                                      d->host[DEMO_SERVER], &err);
    if (d->tls_client && d->tls_server && ps_tls_config_ca_pem(d->tls_client, demo_ca_pem) == 0 &&
        ps_tls_config_cert_pem(d->tls_server, demo_server_crt_pem, demo_server_key_pem) == 0)
        return true;
    fprintf(stderr, "portstack demo: cannot set up TLS: %s\n",
            d->tls_server ? ps_tls_config_last_error(d->tls_server, why, sizeof(why)) : ps_strerror(err));
    demo_tls_free(d);
    return false;
}

void demo_tls_free(struct demo *d)
{
    if (d->tls_client)
        ps_tls_config_free(d->tls_client);
    if (d->tls_server)
        ps_tls_config_free(d->tls_server);
    d->tls_client = d->tls_server = NULL;
}

#else /* built without TLS (PS_TLS=OFF) */

bool demo_tls_setup(struct demo *d)
{
    (void)d;
    return false;
}

void demo_tls_free(struct demo *d)
{
    (void)d;
}

#endif
