/* File-system path helpers (see path.h). */
#include "common/path.h"

#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"

bool llm_path_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

bool llm_path_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *llm_path_join(const char *dir, const char *name)
{
    const size_t a = strlen(dir), b = strlen(name);
    char *p = llm_malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}
