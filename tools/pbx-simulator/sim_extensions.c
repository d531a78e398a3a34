/* The simulated extension directory: demo extensions, presence, devices
 * online, in the item shape of the P-Series "extension/list" page. */
#define _GNU_SOURCE /* strcasestr, qsort_r */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/buf.h"

static const char *const presences[] = {
    "available", "away", "business_trip", "do_not_disturb", "lunch", "off_work",
};

static const char *const devices[] = {
    "sip_phone", "linkus_desktop", "linkus_mobile", "linkus_web", "fxs_phone",
};
#define N_DEVICES (sizeof devices / sizeof devices[0])

enum sort_field {
  SORT_ID,
  SORT_NUMBER,
  SORT_NAME,
  SORT_EMAIL,
  SORT_MOBILE,
  SORT_PRESENCE,
};

static const char *const sort_names[] = {
    [SORT_ID] = "id",
    [SORT_NUMBER] = "number",
    [SORT_NAME] = "caller_id_name",
    [SORT_EMAIL] = "email_addr",
    [SORT_MOBILE] = "mobile_number",
    [SORT_PRESENCE] = "presence_status",
};

static const char *const first_names[] = {
    "Alice", "Bruno",   "Chloe",   "David", "Emma",  "Farid", "Gabrielle",
    "Hugo",  "Ines",    "Jules",   "Karim", "Lea",   "Marc",  "Nadia",
    "Oscar", "Pauline", "Quentin", "Rose",  "Samir", "Thea",
};
static const char *const last_names[] = {
    "Martin", "Bernard", "Dubois",   "Thomas", "Robert",  "Richard",  "Petit",
    "Durand", "Leroy",   "Moreau",   "Simon",  "Laurent", "Lefebvre", "Michel",
    "Garcia", "David",   "Bertrand", "Roux",   "Vincent", "Fournier",
};
#define N_FIRST (sizeof first_names / sizeof first_names[0])
#define N_LAST (sizeof last_names / sizeof last_names[0])

struct ext {
  long id;
  char number[32];
  char name[128];
  char email[128];
  char mobile[32];
  char presence[24];
  int online[N_DEVICES];
  char changed_by[16]; /* "initial", "api" or "phone" */
  char changed_at[40];
};

struct sim_dir {
  pthread_mutex_t mu;
  struct ext *v;
  size_t n, cap;
  long next_id;
  sim_dir_hook_fn hook; /* told of presence and registration changes */
  void *hook_ctx;
};

void sim_dir_set_hook(struct sim_dir *d, sim_dir_hook_fn fn, void *ctx) {
  d->hook = fn;
  d->hook_ctx = ctx;
}

bool sim_presence_valid(const char *presence) {
  if (presence == NULL)
    return false;
  for (size_t i = 0; i < sizeof presences / sizeof presences[0]; i++)
    if (strcmp(presence, presences[i]) == 0)
      return true;
  return false;
}

int sim_dir_sort_field(const char *name) {
  if (name == NULL)
    return -1;
  for (size_t i = 0; i < sizeof sort_names / sizeof sort_names[0]; i++)
    if (strcmp(name, sort_names[i]) == 0)
      return (int)i;
  return -1;
}

static void lower_ascii(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s - 'A' + 'a');
}

static enum sim_dir_status append(struct sim_dir *d, const struct ext *e) {
  if (pb_array_grow(&d->v, &d->cap, d->n + 1, sizeof *d->v, SIM_EXTENSIONS_MAX))
    return SIM_DIR_FULL;
  d->v[d->n++] = *e;
  return SIM_DIR_OK;
}

static void demo_ext(size_t i, long id, struct ext *e) {
  const char *first = first_names[i % N_FIRST];
  /* Stepping the last name by 7 (coprime with 20) gives 400 distinct
   * first/last pairs before a name repeats. */
  const char *last = last_names[(i / N_FIRST + i * 7) % N_LAST];

  memset(e, 0, sizeof *e);
  e->id = id;
  snprintf(e->number, sizeof e->number, "%zu", 2000 + i);
  if (i < N_FIRST * N_LAST) {
    snprintf(e->name, sizeof e->name, "%s %s", first, last);
    snprintf(e->email, sizeof e->email, "%s.%s@example.com", first, last);
  } else {
    snprintf(e->name, sizeof e->name, "%s %s %zu", first, last, i);
    snprintf(e->email, sizeof e->email, "%s.%s.%zu@example.com", first, last,
             i);
  }
  lower_ascii(e->email);
  snprintf(e->mobile, sizeof e->mobile, "+336%08zu", 12340000 + i);
  snprintf(e->presence, sizeof e->presence, "available");
  e->online[0] = (i % 3 != 2); /* sip_phone */
  e->online[1] = (i % 4 == 0); /* linkus_desktop */
  e->online[2] = (i % 2 == 1); /* linkus_mobile */
  e->online[3] = (i % 5 == 0); /* linkus_web */
  e->online[4] = 0;            /* fxs_phone */
  snprintf(e->changed_by, sizeof e->changed_by, "initial");
  sim_clock_wall(e->changed_at, sizeof e->changed_at);
}

struct sim_dir *sim_dir_new(unsigned demo_count) {
  struct sim_dir *d = calloc(1, sizeof *d);
  struct ext e;

  if (d == NULL)
    return NULL;
  pthread_mutex_init(&d->mu, NULL);
  d->next_id = 1;
  for (size_t i = 0; i < demo_count; i++) {
    demo_ext(i, d->next_id++, &e);
    if (append(d, &e) != SIM_DIR_OK) {
      sim_dir_free(d);
      return NULL;
    }
  }
  return d;
}

void sim_dir_free(struct sim_dir *d) {
  if (d == NULL)
    return;
  pthread_mutex_destroy(&d->mu);
  free(d->v);
  free(d);
}

static json_t *ext_json(const struct ext *e) {
  json_t *online = json_object();

  for (size_t i = 0; i < N_DEVICES; i++)
    json_object_set_new(online, devices[i],
                        json_pack("{s:i}", "status", e->online[i]));
  return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)e->id,
                   "number", e->number, "caller_id_name", e->name, "email_addr",
                   e->email, "mobile_number", e->mobile, "presence_status",
                   e->presence, "online_status", online);
}

static const char *field_str(const struct ext *e, int field) {
  switch (field) {
  case SORT_NAME:
    return e->name;
  case SORT_EMAIL:
    return e->email;
  case SORT_MOBILE:
    return e->mobile;
  default:
    return e->presence;
  }
}

struct sort_ctx {
  int field;
  bool descending;
};

static int cmp_ext(const void *a, const void *b, void *arg) {
  const struct ext *x = *(const struct ext *const *)a;
  const struct ext *y = *(const struct ext *const *)b;
  const struct sort_ctx *ctx = arg;
  int c = 0;

  if (ctx->field == SORT_NUMBER) {
    /* Numbers are digit strings: shorter is smaller, so 999 < 2000. */
    size_t lx = strlen(x->number), ly = strlen(y->number);
    c = lx != ly ? (lx > ly) - (lx < ly) : strcmp(x->number, y->number);
  } else if (ctx->field != SORT_ID) {
    c = strcmp(field_str(x, ctx->field), field_str(y, ctx->field));
  }
  if (c == 0) /* ties keep id order, so pages are stable */
    c = (x->id > y->id) - (x->id < y->id);
  return ctx->descending ? -c : c;
}

static bool matches(const struct ext *e, const char *search) {
  return search == NULL || strstr(e->number, search) != NULL ||
         strcasestr(e->name, search) != NULL;
}

json_t *sim_dir_list(struct sim_dir *d, const struct sim_dir_query *q,
                     size_t *total) {
  struct sort_ctx ctx = {q->sort_field, q->descending};
  const struct ext **hits;
  json_t *data = json_array();
  size_t n = 0, first;

  *total = 0;
  pthread_mutex_lock(&d->mu);
  hits = malloc((d->n ? d->n : 1) * sizeof *hits);
  if (hits == NULL) {
    pthread_mutex_unlock(&d->mu);
    return data;
  }
  for (size_t i = 0; i < d->n; i++)
    if (matches(&d->v[i], q->search))
      hits[n++] = &d->v[i];
  qsort_r(hits, n, sizeof *hits, cmp_ext, &ctx);
  *total = n;
  /* page and page_size are validated (>= 1, bounded) by the caller. */
  first = (size_t)(q->page - 1) * (size_t)q->page_size;
  for (size_t i = first; i < n && i < first + (size_t)q->page_size; i++)
    json_array_append_new(data, ext_json(hits[i]));
  pthread_mutex_unlock(&d->mu);
  free(hits);
  return data;
}

static struct ext *find_id(struct sim_dir *d, long id) {
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i].id == id)
      return &d->v[i];
  return NULL;
}

static struct ext *find_number(struct sim_dir *d, const char *number) {
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->v[i].number, number) == 0)
      return &d->v[i];
  return NULL;
}

bool sim_dir_has_number(struct sim_dir *d, const char *number) {
  bool found;

  pthread_mutex_lock(&d->mu);
  found = find_number(d, number) != NULL;
  pthread_mutex_unlock(&d->mu);
  return found;
}

json_t *sim_dir_get(struct sim_dir *d, long id) {
  json_t *j = NULL;
  struct ext *e;

  pthread_mutex_lock(&d->mu);
  e = find_id(d, id);
  if (e != NULL)
    j = ext_json(e);
  pthread_mutex_unlock(&d->mu);
  return j;
}

/* Returns whether the presence changed; number gets the extension's. */
static bool set_presence(struct ext *e, const char *presence,
                         const char *source, char *number, size_t size) {
  bool changed = strcmp(e->presence, presence) != 0;

  snprintf(number, size, "%s", e->number);
  snprintf(e->presence, sizeof e->presence, "%s", presence);
  snprintf(e->changed_by, sizeof e->changed_by, "%s", source);
  sim_clock_wall(e->changed_at, sizeof e->changed_at);
  return changed;
}

/* After the lock is released: the hook may take other locks. */
static void tell_presence(struct sim_dir *d, bool changed, const char *number,
                          const char *presence) {
  if (changed && d->hook != NULL)
    d->hook(d->hook_ctx, number, "presence", presence);
}

enum sim_dir_status sim_dir_set_presence_id(struct sim_dir *d, long id,
                                            const char *presence,
                                            const char *source) {
  struct ext *e;
  char number[32] = "";
  bool changed = false;

  if (!sim_presence_valid(presence))
    return SIM_DIR_INVALID;
  pthread_mutex_lock(&d->mu);
  e = find_id(d, id);
  if (e != NULL)
    changed = set_presence(e, presence, source, number, sizeof number);
  pthread_mutex_unlock(&d->mu);
  tell_presence(d, changed, number, presence);
  return e != NULL ? SIM_DIR_OK : SIM_DIR_NOT_FOUND;
}

enum sim_dir_status sim_dir_set_presence_number(struct sim_dir *d,
                                                const char *number,
                                                const char *presence,
                                                const char *source) {
  struct ext *e;
  char num[32] = "";
  bool changed = false;

  if (number == NULL || !sim_presence_valid(presence))
    return SIM_DIR_INVALID;
  pthread_mutex_lock(&d->mu);
  e = find_number(d, number);
  if (e != NULL)
    changed = set_presence(e, presence, source, num, sizeof num);
  pthread_mutex_unlock(&d->mu);
  tell_presence(d, changed, num, presence);
  return e != NULL ? SIM_DIR_OK : SIM_DIR_NOT_FOUND;
}

int sim_device_index(const char *name) {
  for (size_t i = 0; i < N_DEVICES; i++)
    if (strcmp(name, devices[i]) == 0)
      return (int)i;
  return -1;
}

enum sim_dir_status sim_dir_set_device(struct sim_dir *d, const char *number,
                                       int device, bool online, bool *changed) {
  struct ext *e;

  *changed = false;
  if (number == NULL || device < 0 || device >= (int)N_DEVICES)
    return SIM_DIR_INVALID;
  pthread_mutex_lock(&d->mu);
  e = find_number(d, number);
  if (e != NULL) {
    *changed = e->online[device] != (int)online;
    e->online[device] = online;
  }
  pthread_mutex_unlock(&d->mu);
  return e != NULL ? SIM_DIR_OK : SIM_DIR_NOT_FOUND;
}

static bool valid_number(const char *s) {
  size_t len = s ? strlen(s) : 0;

  if (len == 0 || len >= sizeof((struct ext *)0)->number)
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

static bool fits(const char *s, size_t size, bool required) {
  if (s == NULL)
    return !required;
  if (required && *s == '\0')
    return false;
  return strlen(s) < size;
}

enum sim_dir_status sim_dir_add(struct sim_dir *d, const char *number,
                                const char *name, const char *email,
                                const char *mobile, const char *presence,
                                json_t **created) {
  enum sim_dir_status rc;
  struct ext e;

  *created = NULL;
  memset(&e, 0, sizeof e);
  if (!valid_number(number) || !fits(name, sizeof e.name, true) ||
      !fits(email, sizeof e.email, false) ||
      !fits(mobile, sizeof e.mobile, false) ||
      (presence != NULL && !sim_presence_valid(presence)))
    return SIM_DIR_INVALID;
  snprintf(e.number, sizeof e.number, "%s", number);
  snprintf(e.name, sizeof e.name, "%s", name);
  snprintf(e.email, sizeof e.email, "%s", email ? email : "");
  snprintf(e.mobile, sizeof e.mobile, "%s", mobile ? mobile : "");
  snprintf(e.presence, sizeof e.presence, "%s",
           presence ? presence : "available");
  snprintf(e.changed_by, sizeof e.changed_by, "initial");
  sim_clock_wall(e.changed_at, sizeof e.changed_at);

  pthread_mutex_lock(&d->mu);
  if (find_number(d, number) != NULL) {
    rc = SIM_DIR_DUPLICATE;
  } else {
    e.id = d->next_id;
    rc = append(d, &e);
    if (rc == SIM_DIR_OK) {
      d->next_id++; /* ids are never reused, like the PBX's */
      *created = ext_json(&e);
    }
  }
  pthread_mutex_unlock(&d->mu);
  return rc;
}

enum sim_dir_status sim_dir_remove(struct sim_dir *d, const char *number) {
  enum sim_dir_status rc = SIM_DIR_NOT_FOUND;

  if (number == NULL)
    return SIM_DIR_INVALID;
  pthread_mutex_lock(&d->mu);
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(d->v[i].number, number) == 0) {
      memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof d->v[0]);
      d->n--;
      rc = SIM_DIR_OK;
      break;
    }
  }
  pthread_mutex_unlock(&d->mu);
  return rc;
}

json_t *sim_dir_dump(struct sim_dir *d) {
  json_t *all = json_array();

  pthread_mutex_lock(&d->mu);
  for (size_t i = 0; i < d->n; i++) {
    json_t *j = ext_json(&d->v[i]);
    json_object_set_new(j, "presence_changed_by",
                        json_string(d->v[i].changed_by));
    json_object_set_new(j, "presence_changed_at",
                        json_string(d->v[i].changed_at));
    json_array_append_new(all, j);
  }
  pthread_mutex_unlock(&d->mu);
  return all;
}
