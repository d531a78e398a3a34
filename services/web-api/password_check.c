/* Password checks and hashes off the loop. Argon2id (t=2, m=19 MiB) costs
 * tens of milliseconds of CPU: run on the loop it would hold up every other
 * request, event stream and bus message for that long, and a few login
 * attempts a second would stall the dashboard. A route builds a job (copies
 * of what it needs), web-api's one worker thread checks or hashes
 * (pb/worker.h), and the route's `finish` answers on the loop. One thread
 * keeps the memory to one Argon2id at a time; the queue is bounded. */
#include <stdlib.h>
#include <string.h>

#include "pb/error.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/store.h"
#include "pb/worker.h"
#include "web.h"

/* Password checks waiting at most; past it a request gets a 503. */
#define PW_QUEUE_MAX 16

/* Checked when the user does not exist, so that the answer takes as long
 * for an unknown user as for a wrong password. Only the worker thread
 * touches it. */
static char dummy_hash[PB_PASSWORD_HASH_MAX];

static char *copy_secret(const char *s) {
  return s ? strdup(s) : NULL;
}

static void job_free(struct web_pw_job *j) {
  pb_secret_free(j->check); /* sodium_memzero, then free */
  pb_secret_free(j->set);
  pb_secret_wipe(j->new_hash, sizeof j->new_hash);
  free(j);
}

/* On the worker thread: only the job's own fields. */
static void job_work(void *ud) {
  struct web_pw_job *j = ud;
  if (j->check) {
    const char *hash = j->check_hash;
    if (!*hash) {
      if (!dummy_hash[0])
        pb_password_hash("not a password of anyone", dummy_hash,
                         sizeof dummy_hash);
      hash = dummy_hash;
    }
    j->check_ok = pb_password_verify(hash, j->check) == 0 && j->check_hash[0];
  }
  j->hash_rc = PB_EINVAL;
  if (j->set && (!j->check || j->check_ok))
    j->hash_rc = pb_password_hash(j->set, j->new_hash, sizeof j->new_hash);
}

/* Back on the loop. A request that went away still has its effect (a
 * failed login is counted, a password is changed); only the answer is
 * dropped. */
static void job_done(void *ud) {
  struct web_pw_job *j = ud;
  struct web_response resp = {.status = 200};
  j->finish(j, &resp);
  if (j->wc) {
    j->wc->pw_job = NULL;
    web_conn_finish(j->wc, &resp);
  } else {
    web_response_cleanup(&resp);
  }
  job_free(j);
}

struct web_pw_job *web_pw_job_new(struct web *w, const struct web_request *req,
                                  web_pw_finish_fn *finish, const char *name,
                                  const char *check, const char *set) {
  struct web_pw_job *j = calloc(1, sizeof *j);
  if (!j)
    return NULL;
  j->w = w;
  j->wc = req->wc;
  j->finish = finish;
  j->check = copy_secret(check);
  j->set = copy_secret(set);
  if ((check && !j->check) || (set && !j->set)) {
    job_free(j);
    return NULL;
  }
  pb_strlcpy(j->name, name, sizeof j->name);
  pb_strlcpy(j->actor, req->auth.user, sizeof j->actor);
  pb_strlcpy(j->client_ip, req->client_ip, sizeof j->client_ip);
  if (check) {
    struct pb_stmt *st =
        pb_store_stmt(w->store, "SELECT pwhash FROM users WHERE name = ?1");
    if (st && !pb_stmt_bind_text(st, 1, name) &&
        pb_stmt_step(st) == PB_STMT_ROW) {
      pb_strlcpy(j->check_hash, pb_stmt_text(st, 0), sizeof j->check_hash);
      web_stmt_finish(st);
    }
  }
  return j;
}

void web_pw_job_submit(struct web_pw_job *j, struct web_response *resp) {
  int rc = j->w->pw_worker
               ? pb_worker_submit(j->w->pw_worker, job_work, job_done, j)
               : PB_EUNAVAIL;
  if (rc) {
    pb_warn("password check refused: %d already waiting",
            (int)pb_worker_pending(j->w->pw_worker));
    /* A login refused before its check ran is no failed login (a check
     * with nothing to set is a login: see web_post_login). */
    if (j->check && !j->set)
      web_login_refused(j->w, j->client_ip, j->name);
    pb_strlcpy(resp->retry_after, "1", sizeof resp->retry_after);
    web_reply_error(resp, 503,
                    "too many password checks under way: try again in a "
                    "second");
    job_free(j);
    return;
  }
  j->wc->pw_job = j;
  resp->deferred = true;
}

void web_pw_job_detach(struct web_conn *wc) {
  if (wc->pw_job)
    wc->pw_job->wc = NULL;
  wc->pw_job = NULL;
}

int web_pw_init(struct web *w) {
  return pb_worker_new(w->loop, PW_QUEUE_MAX, &w->pw_worker);
}

void web_pw_stop(struct web *w) {
  pb_worker_free(w->pw_worker);
  w->pw_worker = NULL;
}
