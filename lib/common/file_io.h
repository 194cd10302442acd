/*
 * Whole-file reads and writes with exact error messages. Reads check that the path is a regular
 * file (a directory is named as one), loop over short reads and stop at a size limit; writes go
 * to a temporary name beside the target and are renamed into place, so a failed write leaves the
 * previous file as it was. Every read and write passes the test suite's fault hooks (fault.h).
 */
#ifndef LLM_COMMON_FILE_IO_H
#define LLM_COMMON_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/error.h"

/* pread() through the fault hooks (EIO, short reads). */
ssize_t llm_io_pread(int fd, void *buf, size_t n, uint64_t off);

/* fwrite() through the fault hook (ENOSPC): returns the count written, sets errno on failure. */
size_t llm_io_fwrite(const void *p, size_t n, FILE *f);

/* Reads bytes [0, size) of `fd` into dst, looping over short reads; names `path` on failure. */
llm_status llm_io_read_fd(int fd, void *dst, uint64_t size, const char *path, llm_error *err);

/* Reads the regular file `path` (`what` names it in messages: "session state", "preset") into a
 * NUL-terminated buffer from llm_malloc. max_bytes 0 = no limit, otherwise a larger file is
 * LLM_ERR_LIMIT. Errors: LLM_ERR_IO (missing, a directory, unreadable), LLM_ERR_LIMIT,
 * LLM_ERR_NOMEM. */
llm_status llm_io_read_file(const char *path, const char *what, uint64_t max_bytes, char **data,
                            size_t *len, llm_error *err);

/* Writes `len` bytes to `path` through a temporary file renamed into place. */
llm_status llm_io_write_file(const char *path, const char *what, const void *buf, size_t len,
                             llm_error *err);

/* "path.tmpPID" from llm_malloc, the temporary name writers use; NULL when out of memory. */
char *llm_io_temp_name(const char *path);

#endif /* LLM_COMMON_FILE_IO_H */
