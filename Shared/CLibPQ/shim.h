#ifndef AGENTPOOL_CLIBPQ_SHIM_H
#define AGENTPOOL_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
