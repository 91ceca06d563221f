/* Event groups and field operations, all allocated in the group's arena. Arrays grow by
 * allocating a doubled copy in the arena; the old copy is abandoned until the arena is freed,
 * which bounds the waste at 2x and keeps every allocation a bump. */
#include "event.h"

#include <string.h>

#include "common.h"

pt_group_t *pt_group_create(pt_arena_t *arena, uint32_t event_hint)
{
    pt_group_t *g = pt_arena_alloc(arena, sizeof(*g));
    if (g == NULL) {
        return NULL;
    }
    memset(g, 0, sizeof(*g));
    if (event_hint < 4) {
        event_hint = 4;
    }
    g->events = pt_arena_alloc(arena, sizeof(pt_event_t) * event_hint);
    if (g->events == NULL) {
        return NULL;
    }
    g->capevents = event_hint;
    pt_arena_ref(arena);
    g->arena = arena;
    return g;
}

void pt_group_release(pt_group_t *g)
{
    if (g != NULL) {
        pt_arena_unref(g->arena);
    }
}

static void *grow_array(pt_arena_t *a, void *old, uint32_t n, uint32_t *cap, size_t elem)
{
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *p = pt_arena_alloc(a, elem * ncap);
    if (p == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(p, old, elem * n);
    }
    *cap = ncap;
    return p;
}

pt_event_t *pt_group_add_event(pt_group_t *g, pt_event_type_t type)
{
    if (PT_UNLIKELY(g->nevents == g->capevents)) {
        pt_event_t *p =
            grow_array(g->arena, g->events, g->nevents, &g->capevents, sizeof(pt_event_t));
        if (p == NULL) {
            return NULL;
        }
        g->events = p;
    }
    pt_event_t *ev = &g->events[g->nevents++];
    memset(ev, 0, sizeof(*ev));
    ev->type = (uint8_t)type;
    return ev;
}

int pt_group_set_tag(pt_group_t *g, pt_str_t key, pt_str_t val)
{
    for (uint32_t i = 0; i < g->ntags; i++) {
        if (pt_str_eq(g->tags[i].key, key)) {
            g->tags[i].val = val;
            return 0;
        }
    }
    if (g->ntags == g->captags) {
        pt_field_t *p = grow_array(g->arena, g->tags, g->ntags, &g->captags, sizeof(pt_field_t));
        if (p == NULL) {
            return -ENOMEM;
        }
        g->tags = p;
    }
    g->tags[g->ntags].key = key;
    g->tags[g->ntags].val = val;
    g->ntags++;
    return 0;
}

const pt_str_t *pt_group_get_tag(const pt_group_t *g, pt_str_t key)
{
    for (uint32_t i = 0; i < g->ntags; i++) {
        if (pt_str_eq(g->tags[i].key, key)) {
            return &g->tags[i].val;
        }
    }
    return NULL;
}

uint32_t pt_group_live_events(const pt_group_t *g)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->nevents; i++) {
        n += !(g->events[i].flags & PT_EVENT_F_DROPPED);
    }
    return n;
}

int pt_event_append(pt_group_t *g, pt_event_t *ev, pt_str_t key, pt_str_t val)
{
    if (PT_UNLIKELY(ev->nfields == ev->capfields)) {
        pt_field_t *p =
            grow_array(g->arena, ev->fields, ev->nfields, &ev->capfields, sizeof(pt_field_t));
        if (p == NULL) {
            return -ENOMEM;
        }
        ev->fields = p;
    }
    ev->fields[ev->nfields].key = key;
    ev->fields[ev->nfields].val = val;
    ev->nfields++;
    return 0;
}

int pt_event_to_log(pt_group_t *g, pt_event_t *ev)
{
    if (ev->type != PT_EVENT_RAW) {
        return 0;
    }
    /* Append first: on ENOMEM the event is left a raw line, not a log without content. */
    int rc = pt_event_append(g, ev, PT_STR_LIT("content"), ev->raw);
    if (rc != 0) {
        return rc;
    }
    ev->type = PT_EVENT_LOG;
    ev->raw = PT_STR_NULL;
    return 0;
}

const pt_str_t *pt_event_get(const pt_event_t *ev, pt_str_t key)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        if (pt_str_eq(ev->fields[i].key, key)) {
            return &ev->fields[i].val;
        }
    }
    return NULL;
}

int pt_event_set(pt_group_t *g, pt_event_t *ev, pt_str_t key, pt_str_t val)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        if (pt_str_eq(ev->fields[i].key, key)) {
            ev->fields[i].val = val;
            return 0;
        }
    }
    return pt_event_append(g, ev, key, val);
}

int pt_event_del(pt_event_t *ev, pt_str_t key)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        if (pt_str_eq(ev->fields[i].key, key)) {
            memmove(&ev->fields[i], &ev->fields[i + 1],
                    sizeof(pt_field_t) * (ev->nfields - i - 1));
            ev->nfields--;
            return 1;
        }
    }
    return 0;
}

uint8_t pt_field_type(const pt_attr_t *hints, uint32_t nhints, uint32_t *cursor,
                      const pt_field_t *f)
{
    for (uint32_t k = 0; k < nhints; k++) {
        uint32_t j = (*cursor + k) % nhints;
        if (hints[j].key.ptr == f->key.ptr && hints[j].val.ptr == f->val.ptr &&
            hints[j].val.len == f->val.len) {
            *cursor = j + 1;
            return hints[j].type;
        }
    }
    return PT_VAL_STRING;
}
