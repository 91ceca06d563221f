/* Clocks and error strings. */
#include "common.h"

#include <string.h>
#include <time.h>

uint64_t pt_now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t pt_now_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + (int64_t)ts.tv_nsec;
}

const char *pt_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case PT_AGAIN:
        return "full, try again";
    case PT_DECLINED:
        return "declined";
    case PT_DONE:
        return "done";
    case PT_RETRY:
        return "retryable failure";
    default:
        return strerror(err < 0 ? -err : err);
    }
}
