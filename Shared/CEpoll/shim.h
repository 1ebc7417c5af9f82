#ifndef AGENTPOOL_CEPOLL_SHIM_H
#define AGENTPOOL_CEPOLL_SHIM_H
/* Glibc's Swift module does not export epoll; the PostgreSQL poller needs it on Linux.
   Elsewhere this header is empty and the poller falls back to poll(2). */
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/prctl.h>

/* Names the calling thread (shown in top, ps -L, /proc/PID/task/TID/comm). prctl is
   variadic, which Swift cannot call. */
static inline int agentpool_name_this_thread(const char *name) {
    return prctl(PR_SET_NAME, name, 0, 0, 0);
}
#endif
#endif
