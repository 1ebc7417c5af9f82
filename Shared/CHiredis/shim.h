#ifndef AGENTPOOL_CHIREDIS_SHIM_H
#define AGENTPOOL_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
