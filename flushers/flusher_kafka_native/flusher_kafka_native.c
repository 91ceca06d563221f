/* flusher_kafka_native, LoongCollector's C++ Kafka flusher: the descriptor only, with
 * LoongCollector's JSON event layout (jsonline) as the default format. The implementation,
 * shared with flusher_kafka and flusher_kafka_v2, is in flushers/flusher_kafka/. */
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

PT_KAFKA_DESCRIPTOR(flusher_kafka_native, "jsonline",
                    "flusher_kafka_v2 with LoongCollector's JSON event layout (jsonline) by "
                    "default");
