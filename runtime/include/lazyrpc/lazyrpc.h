/* SPDX-License-Identifier: MIT */
/* lazyrpc: the whole public API. */
#ifndef LAZYRPC_LAZYRPC_H
#define LAZYRPC_LAZYRPC_H

#include "common.h"
#include "service.h"
#include "server.h"
#include "channel.h"
#include "stream.h"
#include "async.h"

#endif
