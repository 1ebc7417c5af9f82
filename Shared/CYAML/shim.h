#ifndef AGENTPOOL_CYAML_SHIM_H
#define AGENTPOOL_CYAML_SHIM_H
#include <yaml.h>
#endif
