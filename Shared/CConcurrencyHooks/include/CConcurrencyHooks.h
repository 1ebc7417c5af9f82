#ifndef AGENTPOOL_CCONCURRENCYHOOKS_H
#define AGENTPOOL_CCONCURRENCYHOOKS_H

/// The Swift runtime's hook for jobs bound for the global concurrent executor
/// (`swift_task_enqueueGlobal_hook`, declared in the Swift runtime's ConcurrencyHooks.def).
///
/// Reached through a link-time reference, not `dlsym`: with `--static-swift-stdlib` the
/// runtime's symbols are local to the executable, so `dlsym` cannot find them, while a
/// reference from an object file in the same link resolves. Returns the hook's storage: a
/// pointer to a Swift function, or NULL while the runtime uses its own executor.
void *_Nullable *_Nonnull agentpool_enqueue_global_hook(void);

#endif
