/*
 * mbedTLS error codes as the negative errno values of the socket API, and
 * as text.  An mbedTLS code may be a high-level code (SSL, X509, PK...)
 * plus a low-level one (ASN.1, bignum...); both parts are looked at.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pem.h>

#include "tls/tls_impl.h"

static bool is_alloc_failure(int e)
{
    int high = -((-e) & 0xFF80), low = -((-e) & 0x007F);
    return high == MBEDTLS_ERR_SSL_ALLOC_FAILED || high == MBEDTLS_ERR_X509_ALLOC_FAILED ||
           high == MBEDTLS_ERR_PK_ALLOC_FAILED || high == MBEDTLS_ERR_ECP_ALLOC_FAILED ||
           high == MBEDTLS_ERR_CIPHER_ALLOC_FAILED || high == MBEDTLS_ERR_MD_ALLOC_FAILED ||
           high == MBEDTLS_ERR_PEM_ALLOC_FAILED || low == MBEDTLS_ERR_MPI_ALLOC_FAILED ||
           low == MBEDTLS_ERR_ASN1_ALLOC_FAILED;
}

int ps_tls_map_error(int e, int sock_err)
{
    if (e >= 0)
        return 0;
    if (is_alloc_failure(e))
        return -ENOMEM;
    switch (e) {
    case MBEDTLS_ERR_SSL_WANT_READ:
    case MBEDTLS_ERR_SSL_WANT_WRITE:
    case MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS:
    case MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS:
        return -EAGAIN;
    case MBEDTLS_ERR_NET_SEND_FAILED: /* the socket's own error, kept by the session */
    case MBEDTLS_ERR_NET_RECV_FAILED:
        return sock_err < 0 ? sock_err : -EIO;
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
    case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED: /* nothing to verify with */
        return -EACCES;
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
        return -ECONNABORTED;
    case MBEDTLS_ERR_SSL_CONN_EOF:
        return -ECONNRESET;
    case MBEDTLS_ERR_SSL_BAD_INPUT_DATA:
    case MBEDTLS_ERR_SSL_BAD_CONFIG:
        return -EINVAL;
    case MBEDTLS_ERR_X509_FILE_IO_ERROR:
    case MBEDTLS_ERR_PK_FILE_IO_ERROR:
        return -ENOENT;
    case MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED:
        return -EIO;
    default:
        return -EPROTO;
    }
}

int ps_tls_map_load_error(int e)
{
    int err = ps_tls_map_error(e, 0);
    /* Anything else wrong with a certificate or key file is its content. */
    return err == -EPROTO ? -EINVAL : err;
}

const char *ps_tls_strerror(int mbedtls_err, uint32_t verify_flags, char *buf, size_t len)
{
    if (!buf || !len)
        return buf;
    buf[0] = '\0';
    if (mbedtls_err)
        mbedtls_strerror(mbedtls_err, buf, len);
    if (verify_flags) {
        /* mbedTLS gives one line per flag; make them one clause. */
        char info[512];
        int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", verify_flags);
        while (n > 0 && info[n - 1] == '\n')
            info[--n] = '\0';
        for (char *nl = strchr(info, '\n'); nl; nl = strchr(nl, '\n'))
            *nl = ';';
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s(%s)", used ? " " : "", n > 0 ? info : "verification failed");
    }
    return buf;
}
