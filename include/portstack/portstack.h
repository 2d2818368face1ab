/*
 * portstack/portstack.h - the whole public API in one include.
 */
#ifndef PORTSTACK_PORTSTACK_H
#define PORTSTACK_PORTSTACK_H

#include "config.h"
#include "gauges.h"
#include "net.h"
#include "pbuf.h"
#include "ping.h"
#include "siphash.h"
#include "stack.h"
#include "stats.h"
#include "types.h"
#include "wire.h"

#endif
