/*
 * The built-in service-name table: the well-known ports a small host meets
 * (IANA registry names, as /etc/services spells them) and a few registered
 * ones.  Sorted by port for the reverse lookup.
 */
#include <portstack/services.h>
#include <portstack/wire.h>

#include <string.h>

#define TCP_ONLY 1
#define UDP_ONLY 2
#define BOTH 3

static const struct service {
    uint16_t port;
    uint8_t protos;
    const char *name;
} services[] = {
    {7, BOTH, "echo"},           {9, BOTH, "discard"},       {13, BOTH, "daytime"},
    {17, BOTH, "qotd"},          {19, BOTH, "chargen"},      {20, TCP_ONLY, "ftp-data"},
    {21, TCP_ONLY, "ftp"},       {22, TCP_ONLY, "ssh"},      {23, TCP_ONLY, "telnet"},
    {25, TCP_ONLY, "smtp"},      {37, BOTH, "time"},         {43, TCP_ONLY, "whois"},
    {53, BOTH, "domain"},        {67, UDP_ONLY, "bootps"},   {68, UDP_ONLY, "bootpc"},
    {69, UDP_ONLY, "tftp"},      {79, TCP_ONLY, "finger"},   {80, TCP_ONLY, "http"},
    {88, BOTH, "kerberos"},      {110, TCP_ONLY, "pop3"},    {111, BOTH, "sunrpc"},
    {113, TCP_ONLY, "auth"},     {119, TCP_ONLY, "nntp"},    {123, UDP_ONLY, "ntp"},
    {137, UDP_ONLY, "netbios-ns"}, {138, UDP_ONLY, "netbios-dgm"}, {139, TCP_ONLY, "netbios-ssn"},
    {143, TCP_ONLY, "imap2"},    {161, UDP_ONLY, "snmp"},    {162, UDP_ONLY, "snmp-trap"},
    {179, TCP_ONLY, "bgp"},      {194, TCP_ONLY, "irc"},     {389, TCP_ONLY, "ldap"},
    {443, BOTH, "https"},        {445, TCP_ONLY, "microsoft-ds"}, {465, TCP_ONLY, "submissions"},
    {500, UDP_ONLY, "isakmp"},   {514, UDP_ONLY, "syslog"},  {515, TCP_ONLY, "printer"},
    {520, UDP_ONLY, "router"},   {546, UDP_ONLY, "dhcpv6-client"}, {547, UDP_ONLY, "dhcpv6-server"},
    {554, BOTH, "rtsp"},         {587, TCP_ONLY, "submission"}, {631, TCP_ONLY, "ipp"},
    {636, TCP_ONLY, "ldaps"},    {853, TCP_ONLY, "domain-s"}, {873, TCP_ONLY, "rsync"},
    {993, TCP_ONLY, "imaps"},    {995, TCP_ONLY, "pop3s"},   {1883, TCP_ONLY, "mqtt"},
    {1900, UDP_ONLY, "ssdp"},    {3306, TCP_ONLY, "mysql"},  {3478, UDP_ONLY, "stun"},
    {5353, UDP_ONLY, "mdns"},    {5432, TCP_ONLY, "postgresql"}, {5683, UDP_ONLY, "coap"},
    {6379, TCP_ONLY, "redis"},   {8080, TCP_ONLY, "http-alt"}, {8883, TCP_ONLY, "secure-mqtt"},
};

#define NSERVICES (sizeof(services) / sizeof(services[0]))

static bool proto_matches(uint8_t protos, uint8_t proto)
{
    if (proto == PS_IP_PROTO_TCP)
        return (protos & TCP_ONLY) != 0;
    if (proto == PS_IP_PROTO_UDP)
        return (protos & UDP_ONLY) != 0;
    return proto == 0;
}

const char *ps_service_name(uint16_t port, uint8_t proto)
{
    size_t lo = 0, hi = NSERVICES;
    while (lo < hi) { /* binary search: the table is sorted by port */
        size_t mid = (lo + hi) / 2;
        if (services[mid].port < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < NSERVICES && services[lo].port == port && proto_matches(services[lo].protos, proto))
        return services[lo].name;
    return NULL;
}

uint16_t ps_service_port(const char *name, uint8_t proto)
{
    for (size_t i = 0; i < NSERVICES; i++)
        if (strcmp(services[i].name, name) == 0 && proto_matches(services[i].protos, proto))
            return services[i].port;
    return 0;
}

const char *ps_port_class(uint16_t port)
{
    if (port <= PS_PORT_WELL_KNOWN_MAX)
        return "well-known";
    if (port <= PS_PORT_REGISTERED_MAX)
        return "registered";
    return "dynamic";
}
