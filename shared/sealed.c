/* Sealed requests (pb/sealed.h) with libsodium's sealed boxes: the sender
 * needs only the receiver's public key, learnt from its retained pubkey
 * topic; the secret key never leaves DATA_DIR. */
#include "pb/sealed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/error.h"
#include "pb/secretbox.h"
#include "pb/topics.h"

/* The bus carries at most 32 MiB; Base64 adds a third. */
#define MAX_PLAIN (24u * 1024 * 1024)

_Static_assert(PB_SEALED_KEY_BYTES == crypto_box_PUBLICKEYBYTES,
               "an X25519 public key is 32 bytes");

struct pb_keypair {
  unsigned char pk[crypto_box_PUBLICKEYBYTES];
  unsigned char sk[crypto_box_SECRETKEYBYTES];
};

int pb_keypair_open(const char *data_dir, const char *service,
                    struct pb_keypair **out) {
  if (sodium_init() < 0)
    return PB_ECRYPTO;
  struct pb_keypair *kp = sodium_malloc(sizeof *kp);
  if (!kp)
    return PB_ENOMEM;
  char name[128];
  snprintf(name, sizeof name, "%.64s-request.key", service);
  /* An X25519 secret key is any 32 random bytes (crypto_box_keypair does
   * the same); the public key is derived from it. */
  int rc = pb_key_file(data_dir, name, kp->sk, sizeof kp->sk);
  if (!rc && crypto_scalarmult_base(kp->pk, kp->sk) != 0)
    rc = PB_ECRYPTO;
  if (rc) {
    sodium_free(kp);
    return rc;
  }
  *out = kp;
  return 0;
}

void pb_keypair_free(struct pb_keypair *kp) {
  if (kp)
    sodium_free(kp);
}

json_t *pb_keypair_public_json(const struct pb_keypair *kp) {
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, kp->pk, sizeof kp->pk,
                    sodium_base64_VARIANT_ORIGINAL);
  return json_pack("{s:s,s:s}", "alg", PB_SEALED_ALG, "key", b64);
}

int pb_sealed_publish_key(struct pb_bus *bus, const struct pb_keypair *kp) {
  char topic[128];
  if (pb_topic_svc(topic, sizeof topic, pb_bus_service(bus), PB_SVC_PUBKEY))
    return PB_ETOOBIG;
  json_t *j = pb_keypair_public_json(kp);
  int rc = j ? pb_bus_publish_json(bus, topic, j, true) : PB_ENOMEM;
  json_decref(j);
  return rc;
}

int pb_sealed_key_parse(const char *payload, size_t len,
                        struct pb_sealed_key *out, char *err, size_t errlen) {
  char why[200];
  json_t *j = pb_json_parse(payload, len, why, sizeof why);
  const char *alg = pb_json_str(j, "alg"), *key = pb_json_str(j, "key");
  size_t n = 0;
  int rc = 0;
  if (!j) {
    snprintf(err, errlen, "not JSON: %s", why);
    rc = PB_EPARSE;
  } else if (!alg || strcmp(alg, PB_SEALED_ALG) != 0) {
    snprintf(err, errlen, "'alg' must be \"%s\"", PB_SEALED_ALG);
    rc = PB_EPARSE;
  } else if (!key ||
             sodium_base642bin(out->bytes, sizeof out->bytes, key, strlen(key),
                               NULL, &n, NULL,
                               sodium_base64_VARIANT_ORIGINAL) != 0 ||
             n != sizeof out->bytes) {
    snprintf(err, errlen, "'key' must be 32 bytes in Base64");
    rc = PB_EPARSE;
  }
  json_decref(j);
  return rc;
}

char *pb_sealed_seal(const struct pb_sealed_key *key, const void *plain,
                     size_t len) {
  if (len > MAX_PLAIN || sodium_init() < 0)
    return NULL;
  size_t blen = len + crypto_box_SEALBYTES;
  unsigned char *box = malloc(blen);
  if (!box)
    return NULL;
  if (crypto_box_seal(box, plain, len, key->bytes) != 0) {
    free(box);
    return NULL;
  }
  size_t b64len =
      sodium_base64_encoded_len(blen, sodium_base64_VARIANT_ORIGINAL);
  char *out = malloc(b64len);
  if (out)
    sodium_bin2base64(out, b64len, box, blen, sodium_base64_VARIANT_ORIGINAL);
  free(box);
  return out;
}

int pb_sealed_open(const struct pb_keypair *kp, const char *b64, char **plain,
                   size_t *len) {
  size_t b64len = strlen(b64);
  size_t cap = b64len / 4 * 3 + 3;
  if (cap > MAX_PLAIN + crypto_box_SEALBYTES + 3)
    return PB_ETOOBIG;
  unsigned char *box = malloc(cap);
  if (!box)
    return PB_ENOMEM;
  size_t blen;
  if (sodium_base642bin(box, cap, b64, b64len, NULL, &blen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      blen < crypto_box_SEALBYTES) {
    free(box);
    return PB_EPARSE;
  }
  size_t plen = blen - crypto_box_SEALBYTES;
  char *p = malloc(plen + 1);
  if (!p) {
    free(box);
    return PB_ENOMEM;
  }
  int rc = crypto_box_seal_open((unsigned char *)p, box, blen, kp->pk, kp->sk);
  free(box);
  if (rc != 0) {
    sodium_memzero(p, plen + 1);
    free(p);
    return PB_ECRYPTO;
  }
  p[plen] = '\0';
  *plain = p;
  *len = plen;
  return 0;
}

json_t *pb_sealed_request(const struct pb_sealed_key *key,
                          const json_t *request) {
  char *text = pb_json_dump(request);
  if (!text)
    return NULL;
  char *sealed = pb_sealed_seal(key, text, strlen(text));
  pb_secret_free(text);
  if (!sealed)
    return NULL;
  json_t *out = json_pack("{s:s}", "sealed", sealed);
  free(sealed);
  return out;
}

json_t *pb_sealed_request_open(const struct pb_keypair *kp,
                               const json_t *sealed, char *err, size_t errlen) {
  const char *b64 = pb_json_str(sealed, "sealed");
  if (!b64) {
    snprintf(err, errlen, "field 'sealed' must be a string");
    return NULL;
  }
  char *plain = NULL;
  size_t len = 0;
  int rc = pb_sealed_open(kp, b64, &plain, &len);
  if (rc == PB_ECRYPTO) {
    snprintf(err, errlen,
             "the sealed request cannot be opened: it was sealed to another "
             "key (a key pair replaced? senders learn the new one from "
             "R/svc/<service>/pubkey)");
    return NULL;
  }
  if (rc) {
    snprintf(err, errlen, "field 'sealed' is not a sealed box in Base64 (%s)",
             pb_strerror(rc));
    return NULL;
  }
  char why[200];
  json_t *req = pb_json_parse(plain, len, why, sizeof why);
  pb_secret_free(plain);
  if (!req || !json_is_object(req)) {
    json_decref(req);
    snprintf(err, errlen, "the sealed request is not a JSON object");
    return NULL;
  }
  return req;
}
