/*
 * Names of the wire parsers' errors.
 */
#include "portstack/wire.h"

const char *ps_wire_strerror(int err)
{
    if (err >= 0)
        return "ok";
    switch (err) {
    case PS_WIRE_ETRUNC:
        return "truncated";
    case PS_WIRE_EVERSION:
        return "bad version";
    case PS_WIRE_EHDRLEN:
        return "bad header length";
    case PS_WIRE_ELEN:
        return "bad length";
    case PS_WIRE_ECKSUM:
        return "bad checksum";
    case PS_WIRE_EOPTION:
        return "bad option";
    case PS_WIRE_EFORMAT:
        return "bad format";
    default:
        return "unknown error";
    }
}
