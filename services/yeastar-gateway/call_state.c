/* What every phone of a site is doing, from the PBX's events (P-Series
 * developer guide: 30007 registration, 30008 extension call status, 30011
 * call status with its members, 30012 new CDR): pure, no I/O. Events may
 * come twice (the WebSocket and the webhook relay) and out of order; the
 * rules that keep the result right:
 * - a member's status only moves forward (ringing/dialing -> talking <->
 *   hold -> gone): a late RING after ANSWER changes nothing;
 * - each source (the webhook relay, each connection of the feed) delivers
 *   in order; a member status of a call that a source delivers for the
 *   n-th time while another source delivered it n times already is that
 *   source's copy (so ANSWER, HOLD, ANSWER from one source is an unhold,
 *   and the other source's late ANSWER, HOLD, ANSWER changes nothing);
 * - a call ends at BYE (when fewer than two members remain), at its CDR,
 *   when 30008 says an extension is Idle, or after the stale limit without
 *   news; an ended call id is remembered, so nothing brings it back.
 * Extension states are derived from the calls they are a member of. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/json.h"
#include "pb/map.h"

#define MEMBER_KEY_MAX (PB_NUMBER_MAX + 4)
#define SEEN_MAX 64 /* (member, status, source) counters per call */

enum mstate { M_RINGING, M_DIALING, M_TALKING, M_HOLD, M_GONE };

struct member {
  char key[MEMBER_KEY_MAX]; /* "e:2000", "i:+33123456789", "o:0612..." */
  char number[PB_NUMBER_MAX];
  enum pb_member_kind kind;
  enum mstate st;
  bool caller; /* ALERT or ANSWERED: the side that dialled */
  char trunk[PB_TEXT_MAX];
  char to[PB_NUMBER_MAX]; /* inbound: the number dialled */
};

/* How many times a source delivered a member status of the call. */
struct seen {
  char key[MEMBER_KEY_MAX];
  enum mstate st;
  unsigned source; /* GW_SOURCE_RELAY, or a feed connection's number */
  unsigned count;
};

struct lcall {
  char id[PB_CALL_ID_MAX];
  int64_t started_ms, answered_ms, news_ms;
  size_t n;
  struct member m[PB_CALL_MEMBERS_MAX];
  struct seen seen[SEEN_MAX];
  size_t nseen;
};

struct xstate {
  char number[PB_NUMBER_MAX];
  struct pb_call_state_msg msg;
  enum pb_call_state hint; /* from 30008 when no call is known */
  int64_t hint_ms;
  bool dirty;
};

struct gw_callstate {
  gw_ext_known_cb *known;
  void *ud;
  struct pb_map *calls; /* id -> lcall */
  struct pb_map *exts;  /* number -> xstate */
  struct pb_map *done;  /* ended call ids -> (void*)flags */
  char **done_ring;     /* FIFO of the keys of `done`, to bound it */
  size_t done_head, done_count;
  size_t ndirty;
  bool site_dirty;
};

enum { DONE_ENDED = 1, DONE_CDR = 2 };

struct gw_callstate *gw_callstate_new(gw_ext_known_cb *known, void *ud) {
  struct gw_callstate *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->known = known;
  c->ud = ud;
  c->calls = pb_map_new();
  c->exts = pb_map_new();
  c->done = pb_map_new();
  c->done_ring = calloc(GW_CALLSTATE_DONE_MAX, sizeof *c->done_ring);
  if (!c->calls || !c->exts || !c->done || !c->done_ring) {
    gw_callstate_free(c);
    return NULL;
  }
  return c;
}

static void free_values(struct pb_map *m) {
  size_t pos = 0;
  void *v;
  while ((v = pb_map_next(m, &pos, NULL)))
    free(v);
}

void gw_callstate_free(struct gw_callstate *c) {
  if (!c)
    return;
  if (c->calls)
    free_values(c->calls);
  if (c->exts)
    free_values(c->exts);
  pb_map_free(c->calls);
  pb_map_free(c->exts);
  pb_map_free(c->done);
  if (c->done_ring)
    for (size_t i = 0; i < GW_CALLSTATE_DONE_MAX; i++)
      free(c->done_ring[i]);
  free(c->done_ring);
  free(c);
}

size_t gw_callstate_count(const struct gw_callstate *c) {
  return pb_map_count(c->calls);
}

/* ---- ended call ids ---- */

static unsigned done_flags(const struct gw_callstate *c, const char *id) {
  return (unsigned)(uintptr_t)pb_map_get(c->done, id);
}

static void done_mark(struct gw_callstate *c, const char *id, unsigned flag) {
  unsigned f = done_flags(c, id);
  if (f) {
    pb_map_put(c->done, id, (void *)(uintptr_t)(f | flag));
    return;
  }
  size_t slot = (c->done_head + c->done_count) % GW_CALLSTATE_DONE_MAX;
  if (c->done_count == GW_CALLSTATE_DONE_MAX) { /* forget the oldest */
    pb_map_remove(c->done, c->done_ring[c->done_head]);
    free(c->done_ring[c->done_head]);
    c->done_ring[c->done_head] = NULL;
    c->done_head = (c->done_head + 1) % GW_CALLSTATE_DONE_MAX;
    c->done_count--;
    slot = (c->done_head + c->done_count) % GW_CALLSTATE_DONE_MAX;
  }
  char *key = strdup(id);
  if (!key || pb_map_put(c->done, key, (void *)(uintptr_t)flag)) {
    free(key);
    return;
  }
  c->done_ring[slot] = key;
  c->done_count++;
}

/* ---- extensions ---- */

static struct xstate *ext_get(struct gw_callstate *c, const char *number) {
  struct xstate *x = pb_map_get(c->exts, number);
  if (x)
    return x;
  unsigned online = 0;
  if (!c->known(c->ud, number, &online))
    return NULL;
  x = calloc(1, sizeof *x);
  if (!x)
    return NULL;
  pb_strlcpy(x->number, number, sizeof x->number);
  x->msg.state = PB_CALL_IDLE;
  x->msg.since = -1;
  x->msg.updated_at = -1;
  x->msg.registered = online;
  x->hint = PB_CALL_IDLE;
  if (pb_map_put(c->exts, x->number, x)) {
    free(x);
    return NULL;
  }
  return x;
}

static void mark(struct gw_callstate *c, struct xstate *x) {
  if (!x->dirty) {
    x->dirty = true;
    c->ndirty++;
  }
}

static enum pb_call_state member_call_state(enum mstate s) {
  switch (s) {
  case M_RINGING:
    return PB_CALL_RINGING;
  case M_DIALING:
    return PB_CALL_DIALING;
  case M_TALKING:
    return PB_CALL_TALKING;
  case M_HOLD:
    return PB_CALL_HOLD;
  default:
    return PB_CALL_IDLE;
  }
}

/* Which of two states an extension in two calls shows. */
static int weight(enum pb_call_state s) {
  static const int w[] = {[PB_CALL_IDLE] = 0,
                          [PB_CALL_RINGING] = 1,
                          [PB_CALL_DIALING] = 2,
                          [PB_CALL_HOLD] = 3,
                          [PB_CALL_TALKING] = 4};
  return w[s];
}

static enum pb_call_direction call_direction(const struct lcall *l) {
  for (size_t i = 0; i < l->n; i++)
    if (l->m[i].kind == PB_MEMBER_INBOUND)
      return PB_DIR_INBOUND;
  for (size_t i = 0; i < l->n; i++)
    if (l->m[i].kind == PB_MEMBER_OUTBOUND)
      return PB_DIR_OUTBOUND;
  return PB_DIR_INTERNAL;
}

static const char *call_trunk(const struct lcall *l) {
  for (size_t i = 0; i < l->n; i++)
    if (l->m[i].kind != PB_MEMBER_EXTENSION && l->m[i].trunk[0])
      return l->m[i].trunk;
  return "";
}

/* The other party as `self` sees it: the external member, else another
 * extension. */
static const char *call_peer(const struct lcall *l, const struct member *self) {
  for (size_t i = 0; i < l->n; i++)
    if (l->m[i].kind != PB_MEMBER_EXTENSION)
      return l->m[i].number;
  for (size_t i = 0; i < l->n; i++)
    if (&l->m[i] != self && l->m[i].st != M_GONE)
      return l->m[i].number;
  return "";
}

static void ext_refresh(struct gw_callstate *c, struct xstate *x,
                        int64_t now_ms) {
  struct pb_call_state_msg n = x->msg;
  const struct lcall *best = NULL;
  const struct member *bm = NULL;
  size_t pos = 0;
  const struct lcall *l;
  while ((l = pb_map_next(c->calls, &pos, NULL))) {
    for (size_t i = 0; i < l->n; i++) {
      const struct member *m = &l->m[i];
      if (m->kind != PB_MEMBER_EXTENSION || m->st == M_GONE ||
          strcmp(m->number, x->number) != 0)
        continue;
      if (!bm ||
          weight(member_call_state(m->st)) > weight(member_call_state(bm->st)))
        best = l, bm = m;
    }
  }
  n.call_id[0] = n.peer[0] = n.trunk[0] = 0;
  n.direction = PB_DIR_NONE;
  if (bm) {
    n.state = member_call_state(bm->st);
    pb_strlcpy(n.call_id, best->id, sizeof n.call_id);
    n.direction = call_direction(best);
    pb_strlcpy(n.peer, call_peer(best, bm), sizeof n.peer);
    pb_strlcpy(n.trunk, call_trunk(best), sizeof n.trunk);
  } else {
    n.state = x->hint;
  }
  if (n.state == x->msg.state && strcmp(n.call_id, x->msg.call_id) == 0 &&
      n.direction == x->msg.direction && strcmp(n.peer, x->msg.peer) == 0 &&
      strcmp(n.trunk, x->msg.trunk) == 0)
    return;
  if (n.state != x->msg.state || strcmp(n.call_id, x->msg.call_id) != 0)
    n.since = now_ms / 1000;
  n.updated_at = now_ms / 1000;
  x->msg = n;
  mark(c, x);
}

static void refresh_members(struct gw_callstate *c, const struct lcall *l,
                            int64_t now_ms) {
  for (size_t i = 0; i < l->n; i++) {
    if (l->m[i].kind != PB_MEMBER_EXTENSION)
      continue;
    struct xstate *x = ext_get(c, l->m[i].number);
    if (x)
      ext_refresh(c, x, now_ms);
  }
}

/* Ends a call: forgotten, its id remembered, its extensions re-derived.
 * What 30008 said of them (Busy during this call) is over with it. */
static void call_end(struct gw_callstate *c, struct lcall *l, int64_t now_ms) {
  pb_map_remove(c->calls, l->id);
  done_mark(c, l->id, DONE_ENDED);
  c->site_dirty = true;
  for (size_t i = 0; i < l->n; i++) {
    struct xstate *x = l->m[i].kind == PB_MEMBER_EXTENSION
                           ? pb_map_get(c->exts, l->m[i].number)
                           : NULL;
    if (x)
      x->hint = PB_CALL_IDLE;
  }
  refresh_members(c, l, now_ms);
  free(l);
}

/* ---- 30011 ---- */

/* The vendor's member_status: ALERT the caller hears ringback, RING (or
 * EARLYMEDIA, an outbound callee's 183) the callee rings, ANSWERED the
 * caller's call was answered, ANSWER the callee answered, HOLD, BYE. */
static int parse_status(const char *s, enum mstate *out, bool *caller) {
  *caller = false;
  if (strcmp(s, "ALERT") == 0)
    *out = M_DIALING, *caller = true;
  else if (strcmp(s, "RING") == 0 || strcmp(s, "EARLYMEDIA") == 0)
    *out = M_RINGING;
  else if (strcmp(s, "ANSWERED") == 0)
    *out = M_TALKING, *caller = true;
  else if (strcmp(s, "ANSWER") == 0)
    *out = M_TALKING;
  else if (strcmp(s, "HOLD") == 0)
    *out = M_HOLD;
  else if (strcmp(s, "BYE") == 0)
    *out = M_GONE;
  else
    return PB_EINVAL;
  return 0;
}

static const char *const kind_keys[] = {"extension", "inbound", "outbound"};

/* One element of "members": {"extension":{...}} or {"inbound":{...}}... */
static int read_member(const json_t *j, struct member *m, char *err,
                       size_t errlen) {
  memset(m, 0, sizeof *m);
  const json_t *o = NULL;
  for (int k = 0; k < 3 && !o; k++) {
    o = json_object_get(j, kind_keys[k]);
    m->kind = (enum pb_member_kind)k;
  }
  if (!json_is_object(o)) {
    snprintf(err, errlen,
             "a member must hold an extension, inbound or "
             "outbound object");
    return PB_EINVAL;
  }
  const char *num = NULL, *st = NULL, *trunk = NULL, *to = NULL;
  const char *numkey = m->kind == PB_MEMBER_EXTENSION ? "number"
                       : m->kind == PB_MEMBER_INBOUND ? "from"
                                                      : "to";
  int rc;
  if ((rc = pb_json_get_str(o, numkey, true, &num, err, errlen)) ||
      (rc = pb_json_get_str(o, "member_status", true, &st, err, errlen)))
    return rc;
  if (!*num || !pb_strlcpy(m->number, num, sizeof m->number)) {
    snprintf(err, errlen, "member field '%s' must be 1-64 characters", numkey);
    return PB_EINVAL;
  }
  if (parse_status(st, &m->st, &m->caller)) {
    snprintf(err, errlen,
             "member_status '%.32s' is not ALERT, RING, EARLYMEDIA, "
             "ANSWERED, ANSWER, HOLD or BYE",
             st);
    return PB_EINVAL;
  }
  if (m->kind != PB_MEMBER_EXTENSION &&
      pb_json_get_str(o, "trunk_name", false, &trunk, err, errlen) == 0)
    pb_strlcpy(m->trunk, trunk, sizeof m->trunk);
  if (m->kind == PB_MEMBER_INBOUND &&
      pb_json_get_str(o, "to", false, &to, err, errlen) == 0)
    pb_strlcpy(m->to, to, sizeof m->to);
  snprintf(m->key, sizeof m->key, "%c:%s", "eio"[m->kind], m -> number);
  return 0;
}

static int rank(enum mstate s) {
  return s == M_GONE ? 3 : (s == M_TALKING || s == M_HOLD) ? 2 : 1;
}

/* Counts a delivery of `in` by `source`; true when another source has
 * delivered this member status as often already: this one is its copy. */
static bool is_copy(struct lcall *l, const struct member *in, unsigned source) {
  struct seen *mine = NULL;
  unsigned others = 0;
  for (size_t i = 0; i < l->nseen; i++) {
    struct seen *e = &l->seen[i];
    if (e->st != in->st || strcmp(e->key, in->key) != 0)
      continue;
    if (e->source == source)
      mine = e;
    else if (e->count > others)
      others = e->count;
  }
  if (!mine) {
    if (l->nseen == SEEN_MAX)
      return false; /* no room to tell: taken as news */
    mine = &l->seen[l->nseen++];
    pb_strlcpy(mine->key, in->key, sizeof mine->key);
    mine->st = in->st;
    mine->source = source;
    mine->count = 0;
  }
  mine->count++;
  return mine->count <= others;
}

/* Applies one member's news; true when something changed. */
static bool apply_member(struct lcall *l, const struct member *in,
                         unsigned source) {
  if (is_copy(l, in, source))
    return false;
  struct member *cur = NULL;
  for (size_t i = 0; i < l->n && !cur; i++)
    if (strcmp(l->m[i].key, in->key) == 0)
      cur = &l->m[i];
  if (!cur) {
    if (l->n == PB_CALL_MEMBERS_MAX)
      return false;
    cur = &l->m[l->n++];
    *cur = *in;
    return true;
  }
  if (cur->st == in->st || cur->st == M_GONE || rank(in->st) < rank(cur->st))
    return false;
  cur->st = in->st;
  cur->caller |= in->caller;
  if (in->trunk[0])
    pb_strlcpy(cur->trunk, in->trunk, sizeof cur->trunk);
  return true;
}

static size_t active_members(const struct lcall *l) {
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++)
    n += l->m[i].st != M_GONE;
  return n;
}

static int call_event(struct gw_callstate *c, const json_t *msg,
                      unsigned source, int64_t now_ms, char *err,
                      size_t errlen) {
  const char *id = NULL;
  int rc = pb_json_get_str(msg, "call_id", true, &id, err, errlen);
  if (rc)
    return rc;
  if (!*id || strlen(id) >= PB_CALL_ID_MAX) {
    snprintf(err, errlen, "field 'call_id' must be 1-%d characters",
             PB_CALL_ID_MAX - 1);
    return PB_EINVAL;
  }
  const json_t *members = json_object_get(msg, "members");
  if (!json_is_array(members) || json_array_size(members) == 0 ||
      json_array_size(members) > PB_CALL_MEMBERS_MAX) {
    snprintf(err, errlen, "field 'members' must be an array of 1-%d members",
             PB_CALL_MEMBERS_MAX);
    return PB_EINVAL;
  }
  struct member in[PB_CALL_MEMBERS_MAX];
  size_t nin = json_array_size(members);
  for (size_t i = 0; i < nin; i++) {
    char e2[200];
    if (read_member(json_array_get(members, i), &in[i], e2, sizeof e2)) {
      snprintf(err, errlen, "members[%zu]: %s", i, e2);
      return PB_EINVAL;
    }
  }
  if (done_flags(c, id))
    return GW_CALLSTATE_DUPLICATE; /* the call is over: a late or copied event
                                    */
  struct lcall *l = pb_map_get(c->calls, id);
  bool created = false;
  if (!l) {
    if (pb_map_count(c->calls) >= GW_CALLSTATE_MAX) {
      snprintf(err, errlen, "more than %d calls in progress: call %s ignored",
               GW_CALLSTATE_MAX, id);
      return PB_ETOOBIG;
    }
    l = calloc(1, sizeof *l);
    if (!l)
      return PB_ENOMEM;
    pb_strlcpy(l->id, id, sizeof l->id);
    l->started_ms = now_ms;
    l->answered_ms = -1;
    if (pb_map_put(c->calls, l->id, l)) {
      free(l);
      return PB_ENOMEM;
    }
    created = true;
  }
  bool changed = created, hung_up = false;
  for (size_t i = 0; i < nin; i++) {
    if (apply_member(l, &in[i], source)) {
      changed = true;
      hung_up |= in[i].st == M_GONE;
    }
  }
  l->news_ms = now_ms;
  if (!changed)
    return GW_CALLSTATE_DUPLICATE;
  for (size_t i = 0; i < l->n && l->answered_ms < 0; i++)
    if (l->m[i].st == M_TALKING || l->m[i].st == M_HOLD)
      l->answered_ms = now_ms;
  c->site_dirty = true;
  if ((hung_up || created) && active_members(l) < 2 &&
      (hung_up || active_members(l) == 0)) {
    call_end(c, l, now_ms);
    return 0;
  }
  refresh_members(c, l, now_ms);
  return 0;
}

/* ---- 30007, 30008 ---- */

static int ext_of(struct gw_callstate *c, const json_t *msg,
                  struct xstate **out, const char **status, char *err,
                  size_t errlen) {
  const char *num;
  int rc;
  if ((rc = pb_json_get_str(msg, "extension", true, &num, err, errlen)) ||
      (rc = pb_json_get_str(msg, "status", true, status, err, errlen)))
    return rc;
  *out = ext_get(c, num);
  if (!*out) {
    snprintf(err, errlen, "extension %.64s is not in the directory", num);
    return PB_ENOTFOUND;
  }
  return 0;
}

static int registration_event(struct gw_callstate *c, const json_t *msg,
                              int64_t now_ms, char *err, size_t errlen) {
  static const char *const kinds[5] = {"Sip", "Desktop", "Mobile", "Web", NULL};
  struct xstate *x;
  const char *status, *kind;
  int rc = ext_of(c, msg, &x, &status, err, errlen);
  if (rc)
    return rc;
  if ((rc = pb_json_get_str(msg, "kind", true, &kind, err, errlen)))
    return rc;
  int bit = -1;
  for (int i = 0; kinds[i]; i++)
    if (strcmp(kind, kinds[i]) == 0)
      bit = i; /* the order of pb_device_names */
  bool on = strcmp(status, "Registered") == 0;
  if (!on && strcmp(status, "Unregistered") != 0) {
    snprintf(err, errlen,
             "field 'status': '%.32s' is not Registered or "
             "Unregistered",
             status);
    return PB_EINVAL;
  }
  if (bit < 0) {
    if (strcmp(kind, "Pad") == 0)
      return GW_CALLSTATE_DUPLICATE; /* a device the contract does not name */
    snprintf(err, errlen,
             "field 'kind': '%.32s' is not Sip, Mobile, "
             "Desktop, Web or Pad",
             kind);
    return PB_EINVAL;
  }
  unsigned regs = x->msg.registered;
  regs = on ? regs | (1u << bit) : regs & ~(1u << bit);
  if (regs == x->msg.registered)
    return GW_CALLSTATE_DUPLICATE;
  x->msg.registered = regs;
  x->msg.updated_at = now_ms / 1000;
  mark(c, x);
  return 0;
}

bool gw_callstate_registered(struct gw_callstate *c, const char *number,
                             unsigned online, int64_t now_ms) {
  struct xstate *x = pb_map_get(c->exts, number);
  if (!x || x->msg.registered == online)
    return false; /* a new extension starts from the directory's devices */
  x->msg.registered = online;
  x->msg.updated_at = now_ms / 1000;
  mark(c, x);
  return true;
}

static int ext_status_event(struct gw_callstate *c, const json_t *msg,
                            int64_t now_ms, char *err, size_t errlen) {
  struct xstate *x;
  const char *status;
  int rc = ext_of(c, msg, &x, &status, err, errlen);
  if (rc)
    return rc;
  if (strcmp(status, "Ringing") == 0) {
    x->hint = PB_CALL_RINGING;
  } else if (strcmp(status, "Busy") == 0) {
    x->hint = PB_CALL_TALKING;
  } else if (strcmp(status, "Idle") == 0) {
    x->hint = PB_CALL_IDLE;
    /* The phone is idle: whatever calls it was in are over for it. */
    size_t pos = 0;
    struct lcall *l, *ending[64];
    size_t nend = 0;
    while ((l = pb_map_next(c->calls, &pos, NULL))) {
      bool in = false;
      for (size_t i = 0; i < l->n; i++)
        if (l->m[i].kind == PB_MEMBER_EXTENSION && l->m[i].st != M_GONE &&
            strcmp(l->m[i].number, x->number) == 0)
          l->m[i].st = M_GONE, in = true;
      if (in) {
        c->site_dirty = true;
        if (active_members(l) < 2 && nend < 64)
          ending[nend++] = l;
      }
    }
    for (size_t i = 0; i < nend; i++)
      call_end(c, ending[i], now_ms);
  } else {
    snprintf(err, errlen,
             "field 'status': '%.32s' is not Ringing, Busy or "
             "Idle",
             status);
    return PB_EINVAL;
  }
  x->hint_ms = now_ms;
  ext_refresh(c, x, now_ms);
  return 0;
}

int gw_callstate_event(struct gw_callstate *c, const struct pb_pbx_event *ev,
                       unsigned source, int64_t now_ms, char *err,
                       size_t errlen) {
  switch (ev->type) {
  case GW_EVENT_REGISTRATION:
    return registration_event(c, ev->msg, now_ms, err, errlen);
  case GW_EVENT_EXT_CALL_STATUS:
    return ext_status_event(c, ev->msg, now_ms, err, errlen);
  case GW_EVENT_CALL_STATUS:
    return call_event(c, ev->msg, source, now_ms, err, errlen);
  default:
    snprintf(err, errlen, "event type %lld is not a call event",
             (long long)ev->type);
    return PB_EINVAL;
  }
}

bool gw_callstate_cdr(struct gw_callstate *c, const char *call_id,
                      int64_t now_ms) {
  if (done_flags(c, call_id) & DONE_CDR)
    return false;
  struct lcall *l = pb_map_get(c->calls, call_id);
  if (l)
    call_end(c, l, now_ms);
  done_mark(c, call_id, DONE_CDR | DONE_ENDED);
  return true;
}

size_t gw_callstate_expire(struct gw_callstate *c, int64_t now_ms,
                           int64_t stale_ms) {
  size_t ended = 0;
  for (;;) { /* ending changes the map: start over after each */
    size_t pos = 0;
    struct lcall *l;
    while ((l = pb_map_next(c->calls, &pos, NULL)) &&
           now_ms - l->news_ms < stale_ms)
      ;
    if (!l)
      break;
    call_end(c, l, now_ms);
    ended++;
  }
  size_t pos = 0;
  struct xstate *x;
  while ((x = pb_map_next(c->exts, &pos, NULL))) {
    if (x->hint != PB_CALL_IDLE && now_ms - x->hint_ms >= stale_ms) {
      x->hint = PB_CALL_IDLE;
      ext_refresh(c, x, now_ms);
      ended++;
    }
  }
  return ended;
}

int64_t gw_callstate_next_expiry(const struct gw_callstate *c,
                                 int64_t stale_ms) {
  int64_t next = -1;
  size_t pos = 0;
  const struct lcall *l;
  while ((l = pb_map_next(c->calls, &pos, NULL)))
    if (next < 0 || l->news_ms + stale_ms < next)
      next = l->news_ms + stale_ms;
  pos = 0;
  const struct xstate *x;
  while ((x = pb_map_next(c->exts, &pos, NULL)))
    if (x->hint != PB_CALL_IDLE && (next < 0 || x->hint_ms + stale_ms < next))
      next = x->hint_ms + stale_ms;
  return next;
}

bool gw_callstate_next_changed(struct gw_callstate *c, char *number, size_t len,
                               struct pb_call_state_msg *out) {
  if (!c->ndirty)
    return false;
  size_t pos = 0;
  struct xstate *x;
  while ((x = pb_map_next(c->exts, &pos, NULL))) {
    if (!x->dirty)
      continue;
    x->dirty = false;
    c->ndirty--;
    pb_strlcpy(number, x->number, len);
    *out = x->msg;
    return true;
  }
  c->ndirty = 0;
  return false;
}

bool gw_callstate_ext(const struct gw_callstate *c, const char *number,
                      struct pb_call_state_msg *out) {
  const struct xstate *x = pb_map_get(c->exts, number);
  if (!x)
    return false;
  *out = x->msg;
  return true;
}

bool gw_callstate_take_site_changed(struct gw_callstate *c) {
  bool d = c->site_dirty;
  c->site_dirty = false;
  return d;
}

static int by_start(const void *a, const void *b) {
  const struct pb_call *x = a, *y = b;
  if (x->started != y->started)
    return x->started < y->started ? -1 : 1;
  return strcmp(x->call_id, y->call_id);
}

static void fill_call(const struct lcall *l, struct pb_call *o) {
  memset(o, 0, sizeof *o);
  pb_strlcpy(o->call_id, l->id, sizeof o->call_id);
  o->direction = call_direction(l);
  o->started = l->started_ms / 1000;
  o->answered = l->answered_ms < 0 ? -1 : l->answered_ms / 1000;
  pb_strlcpy(o->trunk, call_trunk(l), sizeof o->trunk);
  bool talking = false, hold = false;
  const struct member *caller = NULL, *callee = NULL;
  for (size_t i = 0; i < l->n; i++) {
    const struct member *m = &l->m[i];
    if (m->st == M_GONE)
      continue;
    struct pb_call_member *om = &o->members[o->n_members++];
    pb_strlcpy(om->number, m->number, sizeof om->number);
    om->kind = m->kind;
    om->state = member_call_state(m->st);
    talking |= m->st == M_TALKING;
    hold |= m->st == M_HOLD;
  }
  for (size_t i = 0; i < l->n; i++) {
    const struct member *m = &l->m[i];
    if (m->kind == PB_MEMBER_INBOUND && !caller)
      caller = m;
    else if (m->kind == PB_MEMBER_OUTBOUND && !callee)
      callee = m;
  }
  /* the extensions fill in the other side: the first one that did not
   * dial is the callee of an inbound or internal call */
  for (size_t i = 0; i < l->n; i++) {
    const struct member *m = &l->m[i];
    if (m->kind != PB_MEMBER_EXTENSION)
      continue;
    if (!caller && (o->direction == PB_DIR_OUTBOUND || m->caller))
      caller = m;
    else if (!callee && m != caller)
      callee = m;
  }
  if (!caller && callee == NULL && l->n)
    caller = &l->m[0];
  pb_strlcpy(o->from, caller ? caller->number : "", sizeof o->from);
  pb_strlcpy(o->to, callee ? callee->number : "", sizeof o->to);
  o->state = hold ? PB_CALL_HOLD : talking ? PB_CALL_TALKING : PB_CALL_RINGING;
}

int gw_callstate_site(const struct gw_callstate *c, const char *site,
                      int64_t now_ms, struct pb_site_calls *out) {
  memset(out, 0, sizeof *out);
  pb_strlcpy(out->site, site, sizeof out->site);
  out->updated_at = now_ms / 1000;
  size_t n = pb_map_count(c->calls);
  if (!n)
    return 0;
  out->calls = calloc(n, sizeof *out->calls);
  if (!out->calls)
    return PB_ENOMEM;
  size_t pos = 0;
  const struct lcall *l;
  while ((l = pb_map_next(c->calls, &pos, NULL)))
    fill_call(l, &out->calls[out->count++]);
  qsort(out->calls, out->count, sizeof *out->calls, by_start);
  if (out->count > PB_SITE_CALLS_MAX) /* the oldest first, at most 1000 */
    out->count = PB_SITE_CALLS_MAX;
  return 0;
}
