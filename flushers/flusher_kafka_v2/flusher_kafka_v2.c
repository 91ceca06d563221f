/* flusher_kafka_v2, LoongCollector's Kafka flusher: the descriptor only. The implementation,
 * shared with flusher_kafka and flusher_kafka_native, is in flushers/flusher_kafka/. */
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

PT_KAFKA_DESCRIPTOR(flusher_kafka_v2, "custom_single",
                    "Produces one Kafka message per event (librdkafka: idempotent, acks=all, "
                    "zstd), acknowledged on Kafka's delivery report; spool, retries, dead letters");
