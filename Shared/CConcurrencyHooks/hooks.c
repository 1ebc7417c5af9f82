#include "CConcurrencyHooks.h"

// The runtime defines it (libswift_Concurrency); only its storage is used here.
extern void *swift_task_enqueueGlobal_hook;

void *_Nullable *_Nonnull agentpool_enqueue_global_hook(void) {
    return &swift_task_enqueueGlobal_hook;
}
