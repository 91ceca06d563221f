/* flusher_kafka on the workers: Topic templates, partition keys, message values in
 * LoongCollector's formats, and the framing that carries one batch of messages (topic, key,
 * value each) from serialize() to the sender loop and, when delivery fails, into the spool. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/mem.h"
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

/* ======================================================================= templates ===== */

int pt_kafka_topic_valid(const char *s, size_t len)
{
    if (len == 0 || len > 249) {
        return 0;
    }
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

static int topic_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

int pt_kafka_ref_parse(const char *s, pt_kafka_ref_t *out)
{
    size_t n = strlen(s);
    uint8_t kind;
    size_t skip;
    if (n > 8 && strncmp(s, "content.", 8) == 0) {
        kind = PT_KAFKA_REF_CONTENT;
        skip = 8;
    } else if (n > 4 && strncmp(s, "tag.", 4) == 0) {
        kind = PT_KAFKA_REF_TAG;
        skip = 4;
    } else {
        return -EINVAL;
    }
    out->kind = kind;
    out->len = (uint32_t)(n - skip);
    out->text = pt_strndup(s + skip, n - skip);
    return out->text != NULL ? 0 : -ENOMEM;
}

static int tmpl_push(pt_kafka_tmpl_t *t, uint8_t kind, const char *s, size_t n)
{
    if (kind == PT_KAFKA_REF_LIT && t->nparts > 0 && t->parts[t->nparts - 1].kind == kind) {
        /* Adjacent literals (text then ${ENV}) become one part. */
        pt_kafka_ref_t *last = &t->parts[t->nparts - 1];
        char *m = pt_realloc(last->text, last->len + n + 1);
        if (m == NULL) {
            return -ENOMEM;
        }
        memcpy(m + last->len, s, n);
        last->len += (uint32_t)n;
        m[last->len] = '\0';
        last->text = m;
        return 0;
    }
    pt_kafka_ref_t *np = pt_realloc(t->parts, sizeof(*np) * (t->nparts + 1));
    if (np == NULL) {
        return -ENOMEM;
    }
    t->parts = np;
    pt_kafka_ref_t *r = &t->parts[t->nparts];
    r->kind = kind;
    r->len = (uint32_t)n;
    r->text = pt_strndup(s, n);
    if (r->text == NULL) {
        return -ENOMEM;
    }
    t->nparts++;
    return 0;
}

void pt_kafka_tmpl_free(pt_kafka_tmpl_t *t)
{
    for (uint32_t i = 0; i < t->nparts; i++) {
        pt_free(t->parts[i].text);
    }
    pt_free(t->parts);
    memset(t, 0, sizeof(*t));
}

int pt_kafka_tmpl_compile(pt_kafka_tmpl_t *t, const char *src, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    int rc = 0;
    const char *p = src;
    while (*p != '\0' && rc == 0) {
        if ((p[0] == '%' || p[0] == '$') && p[1] == '{') {
            const char *close = strchr(p + 2, '}');
            if (close == NULL) {
                snprintf(err, errlen, "unclosed '%c{' at offset %d", p[0], (int)(p - src));
                rc = -EINVAL;
                break;
            }
            size_t n = (size_t)(close - (p + 2));
            char name[256];
            if (n == 0 || n >= sizeof(name)) {
                snprintf(err, errlen, "empty or too long reference at offset %d", (int)(p - src));
                rc = -EINVAL;
                break;
            }
            memcpy(name, p + 2, n);
            name[n] = '\0';
            if (p[0] == '$') {
                /* Environment variables are fixed for the life of the process: resolve now,
                 * so a missing one is a config error instead of a per-message failure. */
                const char *v = getenv(name);
                if (v == NULL) {
                    snprintf(err, errlen, "environment variable '%s' is not set", name);
                    rc = -EINVAL;
                    break;
                }
                for (const char *c = v; *c != '\0'; c++) {
                    if (!topic_char_ok(*c)) {
                        snprintf(err, errlen,
                                 "${%s} holds '%c', which a Kafka topic name cannot contain", name,
                                 *c);
                        rc = -EINVAL;
                        break;
                    }
                }
                if (rc == 0 && *v != '\0') {
                    rc = tmpl_push(t, PT_KAFKA_REF_LIT, v, strlen(v));
                }
            } else {
                pt_kafka_ref_t r;
                int prc = pt_kafka_ref_parse(name, &r);
                if (prc == -EINVAL) {
                    snprintf(err, errlen,
                             "unknown reference %%{%s}: use %%{content.<field>} or %%{tag.<key>}",
                             name);
                    rc = -EINVAL;
                    break;
                }
                if (prc != 0) {
                    rc = prc;
                    break;
                }
                pt_kafka_ref_t *np = pt_realloc(t->parts, sizeof(*np) * (t->nparts + 1));
                if (np == NULL) {
                    pt_free(r.text);
                    rc = -ENOMEM;
                    break;
                }
                t->parts = np;
                t->parts[t->nparts++] = r;
            }
            p = close + 1;
            continue;
        }
        const char *start = p;
        while (*p != '\0' && !((p[0] == '%' || p[0] == '$') && p[1] == '{')) {
            if (!topic_char_ok(*p)) {
                snprintf(err, errlen,
                         "'%c' is not allowed in a Kafka topic name (letters, digits, '.', '_', "
                         "'-')",
                         *p);
                rc = -EINVAL;
                break;
            }
            p++;
        }
        if (rc == 0) {
            rc = tmpl_push(t, PT_KAFKA_REF_LIT, start, (size_t)(p - start));
        }
    }
    if (rc == 0 && t->nparts == 0) {
        snprintf(err, errlen, "the topic is empty");
        rc = -EINVAL;
    }
    if (rc == 0) {
        t->is_static = t->nparts == 1 && t->parts[0].kind == PT_KAFKA_REF_LIT;
        if (t->is_static && !pt_kafka_topic_valid(t->parts[0].text, t->parts[0].len)) {
            snprintf(err, errlen,
                     "'%s' is not a valid Kafka topic name (1 to 249 characters, "
                     "not '.' or '..')",
                     t->parts[0].text);
            rc = -EINVAL;
        }
    }
    if (rc == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    if (rc != 0) {
        pt_kafka_tmpl_free(t);
    }
    return rc;
}

/* The value of a content.<name> or tag.<name> reference for one event; NULL when absent. A raw
 * event's only field is "content" (as pt_event_to_log would make it). */
static const pt_str_t *ref_value(const pt_kafka_ref_t *r, const pt_group_t *g, const pt_event_t *ev)
{
    pt_str_t name = pt_str(r->text, r->len);
    if (r->kind == PT_KAFKA_REF_TAG) {
        return pt_group_get_tag(g, name);
    }
    if (ev->type == PT_EVENT_RAW) {
        return pt_str_eq_c(name, "content") ? &ev->raw : NULL;
    }
    return pt_event_get(ev, name);
}

int pt_kafka_tmpl_expand(const pt_kafka_tmpl_t *t, const pt_group_t *g, const pt_event_t *ev,
                         pt_buf_t *out)
{
    size_t start = out->len;
    for (uint32_t i = 0; i < t->nparts; i++) {
        const pt_kafka_ref_t *r = &t->parts[i];
        if (r->kind == PT_KAFKA_REF_LIT) {
            if (pt_buf_append(out, r->text, r->len) != 0) {
                return -ENOMEM;
            }
            continue;
        }
        const pt_str_t *v = ref_value(r, g, ev);
        if (v == NULL || v->len == 0) {
            out->len = start;
            int rc = pt_buf_appendf(out, "no value for %%{%s.%s} in the Topic template",
                                    r->kind == PT_KAFKA_REF_TAG ? "tag" : "content", r->text);
            return rc != 0 ? rc : 1;
        }
        if (pt_buf_append(out, v->ptr, v->len) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* ==================================================================== payload format ===== */

static int put_uint(pt_buf_t *b, uint32_t v)
{
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    if (pt_buf_reserve(b, (size_t)n) != 0) {
        return -ENOMEM;
    }
    while (n > 0) {
        b->data[b->len++] = tmp[--n];
    }
    return 0;
}

/* Writes the header of a frame. */
static int frame_header(pt_buf_t *b, unsigned flags, uint32_t tlen, const char *key, uint32_t klen,
                        uint32_t vlen)
{
    static const char hex[] = "0123456789abcdef";
    int rc = pt_buf_reserve(b, PT_KAFKA_MAX_FRAME_HDR);
    if (rc != 0) {
        return rc;
    }
    b->data[b->len++] = hex[flags & 0xF];
    b->data[b->len++] = ' ';
    put_uint(b, tlen);
    b->data[b->len++] = ' ';
    if (key == NULL) {
        b->data[b->len++] = '-';
    } else {
        put_uint(b, klen);
    }
    b->data[b->len++] = ' ';
    put_uint(b, vlen);
    b->data[b->len++] = '\n';
    return 0;
}

int pt_kafka_frame_append(pt_buf_t *b, unsigned flags, pt_str_t topic, pt_str_t key, pt_str_t value)
{
    if (flags & PT_KAFKA_F_SAME_TOPIC) {
        topic = PT_STR_NULL;
    }
    size_t need = PT_KAFKA_MAX_FRAME_HDR + topic.len + key.len + value.len + 1;
    if (pt_buf_reserve(b, need) != 0) {
        return -ENOMEM;
    }
    frame_header(b, flags, topic.len, key.ptr, key.len, value.len);
    if (topic.len > 0) {
        memcpy(b->data + b->len, topic.ptr, topic.len);
        b->len += topic.len;
    }
    if (key.len > 0) {
        memcpy(b->data + b->len, key.ptr, key.len);
        b->len += key.len;
    }
    if (value.len > 0) {
        memcpy(b->data + b->len, value.ptr, value.len);
        b->len += value.len;
    }
    b->data[b->len++] = '\n';
    return 0;
}

int pt_kafka_payload_check(const char *data, size_t len)
{
    if (len < PT_KAFKA_MAGIC_LEN || memcmp(data, PT_KAFKA_MAGIC, PT_KAFKA_MAGIC_LEN) != 0) {
        return -EBADMSG;
    }
    return 0;
}

/* A decimal length of at most 10 digits that fits in 32 bits, then `term`. */
static int get_uint(const char *data, size_t len, size_t *pos, char term, uint32_t *out)
{
    uint64_t v = 0;
    size_t i = *pos;
    size_t digits = 0;
    while (i < len && data[i] >= '0' && data[i] <= '9') {
        if (digits == 1 && data[i - 1] == '0') {
            return -EBADMSG; /* the writer never pads: a leading zero is corruption */
        }
        v = v * 10 + (uint64_t)(data[i] - '0');
        if (++digits > 10 || v > UINT32_MAX) {
            return -EBADMSG;
        }
        i++;
    }
    if (digits == 0 || i >= len || data[i] != term) {
        return -EBADMSG;
    }
    *out = (uint32_t)v;
    *pos = i + 1;
    return 0;
}

int pt_kafka_frame_next(const char *data, size_t len, size_t *pos, const pt_kafka_frame_t *prev,
                        pt_kafka_frame_t *f)
{
    size_t i = *pos;
    if (i >= len) {
        return 0;
    }
    char c = data[i];
    unsigned flags;
    if (c >= '0' && c <= '9') {
        flags = (unsigned)(c - '0');
    } else if (c >= 'a' && c <= 'f') {
        flags = (unsigned)(c - 'a' + 10);
    } else {
        return -EBADMSG;
    }
    if (i + 1 >= len || data[i + 1] != ' ') {
        return -EBADMSG;
    }
    f->off = (uint32_t)i;
    f->flags = (uint8_t)flags;
    i += 2;
    uint32_t tlen;
    uint32_t klen = 0;
    uint32_t vlen;
    int has_key = 1;
    if (get_uint(data, len, &i, ' ', &tlen) != 0) {
        return -EBADMSG;
    }
    if (i + 1 < len && data[i] == '-' && data[i + 1] == ' ') {
        has_key = 0;
        i += 2;
    } else if (get_uint(data, len, &i, ' ', &klen) != 0) {
        return -EBADMSG;
    }
    if (get_uint(data, len, &i, '\n', &vlen) != 0) {
        return -EBADMSG;
    }
    uint64_t body = (uint64_t)tlen + klen + vlen + 1;
    if (body > len - i || data[i + body - 1] != '\n') {
        return -EBADMSG;
    }
    if (flags & PT_KAFKA_F_SAME_TOPIC) {
        if (tlen != 0 || prev == NULL) {
            return -EBADMSG;
        }
        f->topic = prev->topic;
        /* An unroutable frame's "topic" is a reason, never inherited as a topic. */
        if ((prev->flags & PT_KAFKA_F_UNROUTABLE) != (flags & PT_KAFKA_F_UNROUTABLE)) {
            return -EBADMSG;
        }
    } else {
        if (tlen == 0) {
            return -EBADMSG;
        }
        f->topic = pt_str(data + i, tlen);
    }
    i += tlen;
    /* An empty key is a key (ptr set), not a missing one. */
    f->key = has_key ? pt_str(data + i, klen) : PT_STR_NULL;
    i += klen;
    f->value = pt_str(data + i, vlen);
    i += vlen + 1;
    *pos = i;
    return 1;
}

void pt_kafka_frame_mark(char *data, uint32_t off, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    char c = data[off];
    unsigned cur = (c >= '0' && c <= '9') ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
    data[off] = hex[(cur | flags) & 0xF];
}

/* ====================================================================== serializer ===== */

static const char *tag_name(const pt_kafka_fmt_t *f, pt_str_t key, size_t *len)
{
    const pt_strmap_t *m = f->tag_rename;
    for (size_t i = 0; m != NULL && i < m->n; i++) {
        if (pt_str_eq_c(key, m->keys[i])) {
            *len = strlen(m->vals[i]);
            return m->vals[i];
        }
    }
    *len = key.len;
    return key.ptr;
}

static void write_fields(pt_jw_t *w, const pt_event_t *ev)
{
    if (ev->type == PT_EVENT_RAW) {
        pt_jw_key(w, "content", 7);
        pt_jw_str(w, ev->raw.ptr, ev->raw.len);
        return;
    }
    for (uint32_t i = 0; i < ev->nfields; i++) {
        pt_jw_key(w, ev->fields[i].key.ptr, ev->fields[i].key.len);
        pt_jw_str(w, ev->fields[i].val.ptr, ev->fields[i].val.len);
    }
}

static void write_tags(pt_jw_t *w, const pt_kafka_fmt_t *f, const pt_group_t *g)
{
    for (uint32_t i = 0; i < g->ntags; i++) {
        size_t n;
        const char *k = tag_name(f, g->tags[i].key, &n);
        pt_jw_key(w, k, n);
        pt_jw_str(w, g->tags[i].val.ptr, g->tags[i].val.len);
    }
}

int pt_kafka_render_value(const pt_kafka_fmt_t *f, const pt_group_t *g, const pt_event_t *ev,
                          pt_buf_t *out)
{
    if (f->proto == PT_KAFKA_PROTO_RAW) {
        const pt_str_t *v =
            ev->type == PT_EVENT_RAW ? &ev->raw : pt_event_get(ev, PT_STR_LIT("content"));
        if (v == NULL) {
            return 1;
        }
        return pt_buf_append(out, v->ptr, v->len);
    }
    if (f->proto == PT_KAFKA_PROTO_JSONLINE) {
        int rc = pt_event_write_json(out, g, ev);
        if (rc == 0 && out->len > 0 && out->data[out->len - 1] == '\n') {
            out->len--; /* one message is one object, not a line */
        }
        return rc;
    }
    pt_jw_t w;
    pt_jw_init(&w, out);
    pt_jw_obj_open(&w);
    if (f->proto == PT_KAFKA_PROTO_CUSTOM_SINGLE) {
        pt_jw_key(&w, f->k_contents, strlen(f->k_contents));
        pt_jw_obj_open(&w);
        write_fields(&w, ev);
        pt_jw_obj_close(&w);
        pt_jw_key(&w, f->k_tags, strlen(f->k_tags));
        pt_jw_obj_open(&w);
        write_tags(&w, f, g);
        pt_jw_obj_close(&w);
    } else {
        /* custom_single_flatten: contents and tags one level up, as LoongCollector's. */
        write_fields(&w, ev);
        write_tags(&w, f, g);
    }
    pt_jw_key(&w, f->k_time, strlen(f->k_time));
    pt_jw_int(&w, ev->time_ns / 1000000000);
    pt_jw_obj_close(&w);
    return w.err;
}

/* The partition key of an event: the HashKeys values joined by "###" (LoongCollector's
 * native flusher), missing ones skipped. Returns 0 with *has = 0 when none has a value. */
static int make_key(const pt_kafka_fmt_t *f, const pt_group_t *g, const pt_event_t *ev,
                    pt_buf_t *out, int *has)
{
    *has = 0;
    out->len = 0;
    for (uint32_t i = 0; i < f->nhash_keys; i++) {
        const pt_str_t *v = ref_value(&f->hash_keys[i], g, ev);
        if (v == NULL || v->len == 0) {
            continue;
        }
        if (*has && pt_buf_append(out, "###", 3) != 0) {
            return -ENOMEM;
        }
        if (pt_buf_append(out, v->ptr, v->len) != 0) {
            return -ENOMEM;
        }
        *has = 1;
    }
    return 0;
}

int pt_kafka_serialize(const pt_kafka_fmt_t *f, const pt_batch_t *b, pt_buf_t *out, uint32_t *nmsgs)
{
    pt_buf_t topic;
    pt_buf_t prev_topic;
    pt_buf_t key;
    pt_buf_t value;
    pt_buf_init(&topic);
    pt_buf_init(&prev_topic);
    pt_buf_init(&key);
    pt_buf_init(&value);
    uint32_t n = 0;
    int have_prev = 0;
    unsigned prev_unroutable = 0;
    int rc = pt_buf_append(out, PT_KAFKA_MAGIC, PT_KAFKA_MAGIC_LEN);
    for (uint32_t gi = 0; gi < b->ngroups && rc == 0; gi++) {
        const pt_group_t *g = b->groups[gi];
        int group_key_done = 0;
        int has_key = 0;
        for (uint32_t i = 0; i < g->nevents && rc == 0; i++) {
            const pt_event_t *ev = &g->events[i];
            if (ev->flags & PT_EVENT_F_DROPPED) {
                continue;
            }
            value.len = 0;
            int vr = pt_kafka_render_value(f, g, ev, &value);
            if (vr < 0) {
                rc = vr;
                break;
            }
            if (vr == 1) {
                continue; /* nothing to send in this format */
            }
            unsigned flags = 0;
            pt_str_t t;
            if (f->topic.is_static) {
                t = pt_str(f->topic.parts[0].text, f->topic.parts[0].len);
            } else {
                topic.len = 0;
                int tr = pt_kafka_tmpl_expand(&f->topic, g, ev, &topic);
                if (tr < 0) {
                    rc = tr;
                    break;
                }
                if (tr == 0 && !pt_kafka_topic_valid(topic.data, topic.len)) {
                    pt_buf_t why;
                    pt_buf_init(&why);
                    pt_buf_append_str(&why, "the Topic template made '");
                    pt_buf_append(&why, topic.data, topic.len > 200 ? 200 : topic.len);
                    pt_buf_append_str(&why, "', not a valid Kafka topic name");
                    topic.len = 0;
                    rc = pt_buf_append(&topic, why.data, why.len);
                    pt_buf_free(&why);
                    if (rc != 0) {
                        break;
                    }
                    tr = 1;
                }
                if (tr == 1) {
                    if (f->default_topic != NULL) {
                        topic.len = 0;
                        if (pt_buf_append_str(&topic, f->default_topic) != 0) {
                            rc = -ENOMEM;
                            break;
                        }
                    } else {
                        flags |= PT_KAFKA_F_UNROUTABLE;
                    }
                }
                t = pt_str(topic.data, topic.len);
            }
            if (have_prev && prev_unroutable == (flags & PT_KAFKA_F_UNROUTABLE) &&
                pt_str_eq(t, pt_str(prev_topic.data, prev_topic.len))) {
                flags |= PT_KAFKA_F_SAME_TOPIC;
            } else {
                prev_topic.len = 0;
                if (pt_buf_append(&prev_topic, t.ptr, t.len) != 0) {
                    rc = -ENOMEM;
                    break;
                }
                have_prev = 1;
                prev_unroutable = flags & PT_KAFKA_F_UNROUTABLE;
            }
            if (f->partitioner == PT_KAFKA_PART_HASH && !(f->hash_once && group_key_done)) {
                /* HashOnce: the first event's key stands for its whole group, so a group lands
                 * in one partition. */
                rc = make_key(f, g, ev, &key, &has_key);
                group_key_done = 1;
                if (rc != 0) {
                    break;
                }
            }
            pt_str_t k = has_key ? pt_str(key.data, key.len) : PT_STR_NULL;
            rc = pt_kafka_frame_append(out, flags, t, k, pt_str(value.data, value.len));
            n++;
        }
    }
    pt_buf_free(&topic);
    pt_buf_free(&prev_topic);
    pt_buf_free(&key);
    pt_buf_free(&value);
    if (rc != 0) {
        return rc;
    }
    *nmsgs = n;
    return n == 0 ? PT_DECLINED : 0;
}
