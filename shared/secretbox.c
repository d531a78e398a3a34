/* Secrets at rest with libsodium (pb/secretbox.h). The key file is created
 * atomically with mode 0600; a key file readable by others is refused. */
#include "pb/secretbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb/error.h"
#include "pb/log.h"

#define PREFIX "sb1:"
#define MAX_SECRET 65536

struct pb_secretbox {
  unsigned char key[crypto_secretbox_KEYBYTES];
};

static int read_key(const char *path, unsigned char *key, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? PB_ENOTFOUND : PB_EIO;
  struct stat st;
  if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    pb_error("secret key %s must be readable by its owner only (chmod 600)",
             path);
    close(fd);
    return PB_ECRYPTO;
  }
  ssize_t n = read(fd, key, len);
  close(fd);
  if (n != (ssize_t)len) {
    pb_error("secret key %s is damaged (expected %zu bytes)", path, len);
    return PB_ECRYPTO;
  }
  return 0;
}

/* Write to a temporary file and link it into place, so two services starting
 * together agree on one key: the loser of the race reads the winner's. */
static int create_key(const char *dir, const char *path, unsigned char *key,
                      size_t len) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s/.key.%ld", dir, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    pb_error("cannot create %s: %s", tmp, strerror(errno));
    return PB_EIO;
  }
  randombytes_buf(key, len);
  ssize_t n = write(fd, key, len);
  int ok = n == (ssize_t)len && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(tmp);
    return PB_EIO;
  }
  int rc = link(tmp, path);
  int link_errno = errno;
  unlink(tmp);
  if (rc != 0) {
    if (link_errno == EEXIST)
      return read_key(path, key, len);
    pb_error("cannot create %s: %s", path, strerror(link_errno));
    return PB_EIO;
  }
  pb_info("created secret key %s (mode 0600): keep it with the databases",
          path);
  return 0;
}

int pb_key_file(const char *data_dir, const char *name, unsigned char *key,
                size_t len) {
  if (sodium_init() < 0)
    return PB_ECRYPTO;
  if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
    pb_error("cannot create data directory %s: %s", data_dir, strerror(errno));
    return PB_EIO;
  }
  char path[600];
  snprintf(path, sizeof path, "%s/%s", data_dir, name);
  int rc = read_key(path, key, len);
  if (rc == PB_ENOTFOUND)
    rc = create_key(data_dir, path, key, len);
  return rc;
}

int pb_secretbox_open(const char *data_dir, struct pb_secretbox **out) {
  if (sodium_init() < 0)
    return PB_ECRYPTO;
  struct pb_secretbox *box = sodium_malloc(sizeof *box);
  if (!box)
    return PB_ENOMEM;
  int rc = pb_key_file(data_dir, "secret.key", box->key, sizeof box->key);
  if (rc) {
    sodium_free(box);
    return rc;
  }
  *out = box;
  return 0;
}

void pb_secretbox_free(struct pb_secretbox *box) {
  if (box)
    sodium_free(box);
}

char *pb_secretbox_seal(struct pb_secretbox *box, const char *plain) {
  size_t plen = strlen(plain);
  if (plen > MAX_SECRET)
    return NULL;
  size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
  unsigned char *raw = malloc(blen);
  if (!raw)
    return NULL;
  randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES,
                        (const unsigned char *)plain, plen, raw, box->key);
  size_t b64len =
      sodium_base64_encoded_len(blen, sodium_base64_VARIANT_ORIGINAL);
  char *out = malloc(strlen(PREFIX) + b64len);
  if (out) {
    memcpy(out, PREFIX, strlen(PREFIX));
    sodium_bin2base64(out + strlen(PREFIX), b64len, raw, blen,
                      sodium_base64_VARIANT_ORIGINAL);
  }
  free(raw);
  return out;
}

int pb_secretbox_unseal(struct pb_secretbox *box, const char *sealed,
                        char **plain) {
  if (!sealed || strncmp(sealed, PREFIX, strlen(PREFIX)) != 0)
    return PB_EPARSE;
  const char *b64 = sealed + strlen(PREFIX);
  size_t cap = strlen(b64) / 4 * 3 + 3;
  if (cap > MAX_SECRET * 2)
    return PB_ETOOBIG;
  unsigned char *raw = malloc(cap);
  if (!raw)
    return PB_ENOMEM;
  size_t rlen;
  if (sodium_base642bin(raw, cap, b64, strlen(b64), NULL, &rlen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      rlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    free(raw);
    return PB_EPARSE;
  }
  size_t plen = rlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  char *p = malloc(plen + 1);
  if (!p) {
    free(raw);
    return PB_ENOMEM;
  }
  if (crypto_secretbox_open_easy(
          (unsigned char *)p, raw + crypto_secretbox_NONCEBYTES,
          rlen - crypto_secretbox_NONCEBYTES, raw, box->key) != 0) {
    free(raw);
    free(p);
    return PB_ECRYPTO;
  }
  free(raw);
  p[plen] = '\0';
  *plain = p;
  return 0;
}

void pb_secret_wipe(void *secret, size_t len) {
  sodium_memzero(secret, len);
}

void pb_secret_free(char *secret) {
  if (!secret)
    return;
  sodium_memzero(secret, strlen(secret));
  free(secret);
}

int pb_hmac_sha256_base64(const char *key, size_t keylen, const void *body,
                          size_t len, char *out, size_t outlen) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  if (outlen <
      sodium_base64_encoded_len(sizeof mac, sodium_base64_VARIANT_ORIGINAL))
    return PB_EINVAL;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, keylen);
  crypto_auth_hmacsha256_update(&st, body, len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2base64(out, outlen, mac, sizeof mac,
                    sodium_base64_VARIANT_ORIGINAL);
  return 0;
}

int pb_secret_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la != lb)
    return 0;
  return sodium_memcmp(a, b, la) == 0;
}

#define PW_OPSLIMIT 2
#define PW_MEMLIMIT (19u * 1024 * 1024)

int pb_password_hash(const char *password, char *out, size_t outlen) {
  if (sodium_init() < 0)
    return PB_ECRYPTO;
  if (outlen < crypto_pwhash_STRBYTES || outlen > PB_PASSWORD_HASH_MAX * 2)
    return PB_EINVAL;
  if (crypto_pwhash_str_alg(out, password, strlen(password), PW_OPSLIMIT,
                            PW_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return PB_ENOMEM; /* libsodium's only failure here: the memory */
  return 0;
}

int pb_password_verify(const char *hash, const char *password) {
  if (sodium_init() < 0)
    return PB_ECRYPTO;
  if (strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
              strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
    return PB_EPARSE;
  return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0
             ? 0
             : PB_EAUTH;
}

int pb_random_token(size_t nbytes, char *out, size_t outlen) {
  unsigned char raw[64];
  if (sodium_init() < 0)
    return PB_ECRYPTO;
  if (nbytes == 0 || nbytes > sizeof raw ||
      outlen < sodium_base64_encoded_len(
                   nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    return PB_EINVAL;
  randombytes_buf(raw, nbytes);
  sodium_bin2base64(out, outlen, raw, nbytes,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return 0;
}

int pb_sha256_hex(const void *data, size_t len, char *out, size_t outlen) {
  unsigned char h[crypto_hash_sha256_BYTES];
  if (outlen < 2 * sizeof h + 1)
    return PB_EINVAL;
  crypto_hash_sha256(h, data, len);
  sodium_bin2hex(out, outlen, h, sizeof h);
  return 0;
}
