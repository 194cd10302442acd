// The same as version.c, from C++: the header is usable as is.
#include <cstdio>

#include <llm/llm.h>

int main()
{
    std::printf("libllm header %s, library %s (C++)\n", LLM_VERSION_STRING, llm_version_string());
    return llm_version_number() / 1000000 == LLM_VERSION_MAJOR ? 0 : 1;
}
