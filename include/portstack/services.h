/*
 * portstack/services.h - well-known port names, both ways, like
 * getservbyname/getservbyport, from a built-in table (no /etc/services).
 */
#ifndef PORTSTACK_SERVICES_H
#define PORTSTACK_SERVICES_H

#include <stdint.h>

/* Port ranges (RFC 6335). */
#define PS_PORT_WELL_KNOWN_MAX 1023
#define PS_PORT_REGISTERED_MAX 49151

/* The service name of a port for a protocol (PS_IP_PROTO_TCP/UDP, or 0 for
 * either), or NULL if the table has none. */
const char *ps_service_name(uint16_t port, uint8_t proto);

/* The port of a named service for a protocol (0 for either); 0 if
 * unknown.  Names match case-sensitively, as in /etc/services. */
uint16_t ps_service_port(const char *name, uint8_t proto);

/* "well-known", "registered" or "dynamic". */
const char *ps_port_class(uint16_t port);

#endif
