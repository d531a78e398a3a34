/* Requests sealed to the service that reads them (libsodium sealed boxes,
 * crypto_box_seal: an ephemeral X25519 key per message, XSalsa20-Poly1305),
 * so a secret in a request body (a calendar password, a PBX client secret)
 * crosses the broker unreadable to every other client. Each receiving
 * service keeps a key pair in DATA_DIR/<service>-request.key (mode 0600,
 * created on first start) and publishes its public key retained on
 * R/svc/<service>/pubkey (docs/topics.md). */
#ifndef PB_SEALED_H
#define PB_SEALED_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/json.h"

#define PB_SEALED_KEY_BYTES 32
#define PB_SEALED_ALG "x25519-sealedbox"

struct pb_keypair;

/* A service's public key, as learnt from its pubkey topic. */
struct pb_sealed_key {
  unsigned char bytes[PB_SEALED_KEY_BYTES];
};

/* Loads DATA_DIR/<service>-request.key, or creates it on first start. */
int pb_keypair_open(const char *data_dir, const char *service,
                    struct pb_keypair **out);
/* Wipes and frees. Accepts NULL. */
void pb_keypair_free(struct pb_keypair *kp);
/* {"alg":"x25519-sealedbox","key":"<base64>"}, the pubkey payload. */
json_t *pb_keypair_public_json(const struct pb_keypair *kp);
/* Publishes the public key, retained, on R/svc/<service>/pubkey (at every
 * connection: a broker without persistence forgets retained messages). */
struct pb_bus;
int pb_sealed_publish_key(struct pb_bus *bus, const struct pb_keypair *kp);
/* Reads a pubkey payload. PB_EPARSE (with err) for another algorithm or a
 * key that is not 32 bytes of Base64. */
int pb_sealed_key_parse(const char *payload, size_t len,
                        struct pb_sealed_key *out, char *err, size_t errlen);

/* `len` bytes sealed to `key`, as Base64 (standard alphabet); caller frees.
 * NULL when out of memory or too big. */
char *pb_sealed_seal(const struct pb_sealed_key *key, const void *plain,
                     size_t len);
/* Opens what pb_sealed_seal made for this key pair: *plain is
 * NUL-terminated, *len its length; free it with pb_secret_free. PB_EPARSE
 * when not Base64, PB_ECRYPTO when sealed to another key or tampered with. */
int pb_sealed_open(const struct pb_keypair *kp, const char *b64, char **plain,
                   size_t *len);

/* A request object as it goes on the bus: {"sealed":"<base64 of the
 * compact JSON>"}; NULL when out of memory. `request` is not taken. */
json_t *pb_sealed_request(const struct pb_sealed_key *key,
                          const json_t *request);
/* The request a {"sealed":...} object holds, a JSON object (new
 * reference), or NULL with the reason in err. */
json_t *pb_sealed_request_open(const struct pb_keypair *kp,
                               const json_t *sealed, char *err, size_t errlen);

#endif
