/* Click-to-call: call/dial on the bus -> the PBX's call/dial (P-Series
 * "Make a Call": caller, callee; the answer carries the call id). The
 * caller must be an extension of the site's directory and the number a
 * phone number (pb_phone_number_clean); anything else is refused before the
 * PBX is asked. A dial goes to the front of the site's queue (someone
 * waits for the phone to ring) and is sent at most once: a dial the PBX may
 * have placed is never repeated, and one that waited too long for a PBX
 * that did not answer is dropped rather than placed minutes later. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"

struct dial {
  struct gw *gw;
  struct pb_bus_reply *reply;
  char ext[PB_NUMBER_MAX];
  char number[PB_NUMBER_MAX];
  char by[PB_TEXT_MAX];
  int64_t asked_ms;
  bool sent;
};

/* Built when the queue sends it: NULL (not sent) the second time or when
 * it waited past GW_DIAL_WAIT_MS. */
static json_t *dial_body(struct gw_site *s, void *ud) {
  (void)s;
  struct dial *d = ud;
  if (d->sent || pb_clock_now_ms() - d->asked_ms > GW_DIAL_WAIT_MS)
    return NULL;
  d->sent = true;
  return json_pack("{s:s,s:s}", "caller", d->ext, "callee", d->number);
}

static void on_dial(struct gw_site *s, int err, const char *errmsg,
                    json_t *resp, void *ud) {
  struct dial *d = ud;
  char why[400];
  if (err) {
    if (err == PB_ESTATE && errmsg && !strcmp(errmsg, "the site stopped"))
      snprintf(why, sizeof why, "site %s stopped: the call was not placed",
               s->name);
    else if (err == PB_ESTATE && d->sent)
      snprintf(why, sizeof why,
               "site %s: the PBX did not confirm the dial (no answer, or a "
               "token it refused): the call may or may not have been placed",
               s->name);
    else if (err == PB_ESTATE)
      snprintf(why, sizeof why,
               "site %s: the PBX did not answer in time: the call was not "
               "placed",
               s->name);
    else
      snprintf(why, sizeof why, "site %s: %s", s->name, errmsg);
    pb_warn("call/dial: %s (extension %s, asked by %s)", why, d->ext,
            d->by[0] ? d->by : "?");
    gw_reply_error(d->gw, d->reply, why, NULL);
    free(d);
    return;
  }
  const char *call_id = pb_json_str(resp, "call_id");
  if (!call_id)
    call_id = pb_json_str(resp, "callid");
  pb_info("site %s: extension %s dials %s (asked by %s): call %s", s->name,
          d->ext, d->number, d->by[0] ? d->by : "?", call_id ? call_id : "?");
  gw_reply_ok(d->gw, d->reply,
              json_pack("{s:s,s:s,s:s,s:s?}", "site", s->name, "ext", d->ext,
                        "number", d->number, "call_id", call_id));
  free(d);
}

void gw_dial(struct gw *gw, const json_t *req, struct pb_bus_reply *reply) {
  char err[300], number[PB_NUMBER_MAX];
  const char *ext = NULL, *raw = NULL, *by = NULL;
  struct gw_site *s = gw_request_site(gw, req, err, sizeof err);
  if (!s)
    goto refuse;
  if (pb_json_get_str(req, "ext", true, &ext, err, sizeof err) ||
      pb_json_get_str(req, "number", true, &raw, err, sizeof err))
    goto refuse;
  int rc = pb_json_get_str(req, "by", false, &by, err, sizeof err);
  if (rc && rc != PB_ENOTFOUND)
    goto refuse;
  if (!s->directory_loaded) {
    snprintf(err, sizeof err,
             "the directory of site %s is not read yet: try again shortly",
             s->name);
    goto refuse;
  }
  struct gw_ext *e = pb_topic_id_valid(ext) ? gw_ext_get(s, ext) : NULL;
  if (!e || !e->listed) {
    snprintf(err, sizeof err, "unknown extension %.64s on site %s", ext,
             s->name);
    goto refuse;
  }
  if (!pb_phone_number_clean(raw, number, sizeof number)) {
    char shown[68];
    size_t n = 0;
    for (const char *p = raw; *p && n + 1 < sizeof shown; p++)
      shown[n++] = (unsigned char)*p < 0x20 ? '?' : *p;
    shown[n] = '\0';
    snprintf(err, sizeof err, "'%s' is not a phone number", shown);
    goto refuse;
  }
  struct dial *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, sizeof err, "out of memory");
    goto refuse;
  }
  d->gw = gw;
  d->reply = reply;
  d->asked_ms = pb_clock_now_ms();
  pb_strlcpy(d->ext, e->number, sizeof d->ext);
  pb_strlcpy(d->number, number, sizeof d->number);
  if (by)
    pb_strlcpy(d->by, by, sizeof d->by);
  struct gw_request r = {.method = "POST",
                         .endpoint = "call/dial",
                         .body_cb = dial_body,
                         .cb = on_dial,
                         .ud = d,
                         .urgent = true};
  if (gw_pbx_submit(s, &r)) {
    free(d);
    snprintf(err, sizeof err, "site %s: the dial could not be queued", s->name);
    goto refuse;
  }
  return;
refuse:
  gw_reply_error(gw, reply, err, NULL);
}
