/* Return codes, assertions and small helpers shared by every petrel source file.
 * Functions return 0 on success, a negative errno on failure, or one of the flow statuses. */
#ifndef PT_COMMON_H
#define PT_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Flow statuses (nginx-style). They are negative and far from any errno value. */
#define PT_AGAIN (-10001)    /* full: try again later (backpressure) */
#define PT_DECLINED (-10002) /* not mine */
#define PT_DONE (-10003)     /* taken: completion comes by callback */
#define PT_RETRY (-10004)    /* a send failed in a way worth retrying (network, 429, 503, ...) */

#define PT_API __attribute__((visibility("default")))
#define PT_UNUSED(x) ((void)(x))
#define PT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PT_LIKELY(x) __builtin_expect(!!(x), 1)
#define PT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Always-on assertion, for invariants whose failure would corrupt memory. Bad input never
 * reaches an assert: it gets an error return. */
#define PT_ASSERT(cond)                                                                       \
    do {                                                                                      \
        if (PT_UNLIKELY(!(cond))) {                                                           \
            fprintf(stderr, "petrel: assertion failed: %s (%s:%d)\n", #cond, __FILE__,       \
                    __LINE__);                                                                \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#ifdef PT_DEBUG
#define PT_DEBUG_ASSERT(cond) PT_ASSERT(cond)
#else
#define PT_DEBUG_ASSERT(cond) ((void)0)
#endif

/* Monotonic and wall clocks in nanoseconds. */
uint64_t pt_now_mono_ns(void);
int64_t pt_now_wall_ns(void);

/* Human-readable text for an error code (errno or flow status). Never NULL. */
const char *pt_strerror(int err);

#endif
