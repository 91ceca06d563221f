/* CRC32C (Castagnoli), used to frame spool records. Hardware instruction when the CPU has
 * SSE4.2, a slicing table otherwise. Thread-safe. */
#ifndef PT_CRC32C_H
#define PT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 to start. */
uint32_t pt_crc32c(uint32_t crc, const void *data, size_t len);

#endif
