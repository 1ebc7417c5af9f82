#ifndef AGENTPOOL_CEPOLL_SHIM_H
#define AGENTPOOL_CEPOLL_SHIM_H
/* Glibc's Swift module does not export epoll; the PostgreSQL poller needs it on Linux.
   Elsewhere this header is empty and the poller falls back to poll(2). */
#ifdef __linux__
#include <sys/epoll.h>
#endif
#endif
