/* Runs a fuzz target's LLVMFuzzerTestOneInput over files and directories
 * without libFuzzer (any compiler): the regression inputs and seeds are
 * replayed in every build, under the sanitizers in the ASan one. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (64 * 1024 * 1024)

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  uint8_t *buf = malloc(REPLAY_MAX_INPUT);
  size_t n = buf ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
  fclose(f);
  if (!buf)
    return 1;
  /* A private copy of the exact size, so reading past it is caught. */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact) {
    memcpy(exact, buf, n);
    LLVMFuzzerTestOneInput(exact, n);
  }
  free(exact);
  free(buf);
  return exact ? 0 : 1;
}

static int run_path(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    return 1;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char child[4096];
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    struct stat cs;
    if (stat(child, &cs) == 0 && S_ISREG(cs.st_mode)) {
      (*count)++;
      rc |= run_file(child);
    }
  }
  closedir(d);
  return rc;
}

int main(int argc, char **argv) {
  int rc = 0, count = 0;
  for (int i = 1; i < argc; i++)
    rc |= run_path(argv[i], &count);
  printf("%d inputs replayed\n", count);
  printf("%d passed, %d failed\n", rc ? 0 : count, rc ? 1 : 0);
  return rc;
}
