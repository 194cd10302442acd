/* Whole-file reads and writes (see file_io.h). */
#include "common/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fault.h"

ssize_t llm_io_pread(int fd, void *buf, size_t n, uint64_t off)
{
    if (llm_fault_hit(LLM_FAULT_READ_EIO)) {
        errno = EIO;
        return -1;
    }
    if (n > 1 && llm_fault_hit(LLM_FAULT_READ_SHORT))
        n /= 2;
    return pread(fd, buf, n, (off_t)off);
}

size_t llm_io_fwrite(const void *p, size_t n, FILE *f)
{
    if (llm_fault_hit(LLM_FAULT_WRITE_ENOSPC)) {
        errno = ENOSPC;
        return 0;
    }
    return fwrite(p, 1, n, f);
}

llm_status llm_io_read_fd(int fd, void *dst, uint64_t size, const char *path, llm_error *err)
{
    uint8_t *p = dst;
    uint64_t done = 0;
    while (done < size) {
        uint64_t want = size - done;
        if (want > (1u << 30))
            want = 1u << 30;
        ssize_t n = llm_io_pread(fd, p + done, (size_t)want, done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return llm_error_set(err, LLM_ERR_IO, "%s: read failed at offset %" PRIu64 ": %s",
                                 path, done, strerror(errno));
        if (n == 0)
            return llm_error_set(err, LLM_ERR_IO,
                                 "%s: file shrank while reading (got %" PRIu64 " of %" PRIu64
                                 " bytes)",
                                 path, done, size);
        done += (uint64_t)n;
    }
    return LLM_OK;
}

llm_status llm_io_read_file(const char *path, const char *what, uint64_t max_bytes, char **data,
                            size_t *len, llm_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return llm_error_set(err, LLM_ERR_IO, "cannot open %s '%s': %s", what, path,
                             strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return llm_error_set(err, LLM_ERR_IO, "cannot stat %s '%s': %s", what, path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return llm_error_set(err, LLM_ERR_IO, "%s '%s' is %s, not a file", what, path,
                             S_ISDIR(sb.st_mode) ? "a directory" : "a special file");
    }
    uint64_t size = (uint64_t)sb.st_size;
    if ((max_bytes && size > max_bytes) || size >= SIZE_MAX) {
        close(fd);
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "%s '%s' has %" PRIu64 " bytes, more than the limit of %" PRIu64,
                             what, path, size, max_bytes ? max_bytes : (uint64_t)SIZE_MAX - 1);
    }
    char *buf = llm_malloc((size_t)size + 1);
    if (!buf) {
        close(fd);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory reading %" PRIu64 " bytes of %s '%s'",
                             size, what, path);
    }
    llm_status st = llm_io_read_fd(fd, buf, size, path, err);
    close(fd);
    if (st != LLM_OK) {
        llm_mem_free(buf);
        return st;
    }
    buf[size] = '\0';
    *data = buf;
    *len = (size_t)size;
    return LLM_OK;
}

char *llm_io_temp_name(const char *path)
{
    size_t n = strlen(path);
    char *tmp = llm_malloc(n + 24);
    if (tmp)
        snprintf(tmp, n + 24, "%s.tmp%ld", path, (long)getpid());
    return tmp;
}

llm_status llm_io_write_file(const char *path, const char *what, const void *buf, size_t len,
                             llm_error *err)
{
    char *tmp = llm_io_temp_name(path);
    if (!tmp)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory writing %s '%s'", what, path);
    llm_status st = LLM_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = llm_error_set(err, LLM_ERR_IO, "cannot create %s '%s': %s", what, tmp,
                           strerror(errno));
        llm_mem_free(tmp);
        return st;
    }
    if (len && llm_io_fwrite(buf, len, f) != len)
        st = llm_error_set(err, LLM_ERR_IO, "cannot write %s '%s': %s", what, path,
                           strerror(errno));
    if (fclose(f) != 0 && st == LLM_OK)
        st = llm_error_set(err, LLM_ERR_IO, "cannot write %s '%s': %s", what, path,
                           strerror(errno));
    if (st == LLM_OK && rename(tmp, path) != 0)
        st = llm_error_set(err, LLM_ERR_IO, "cannot rename '%s' to %s '%s': %s", tmp, what, path,
                           strerror(errno));
    if (st != LLM_OK)
        remove(tmp);
    llm_mem_free(tmp);
    return st;
}
