/*
 * Kernel dispatch: fills the table once per process, BLIS/dav1d style. Every slot starts with the
 * generic variant; each tier this CPU supports then overrides the slots it implements
 * (avx2 → avx512 on x86-64, neon on aarch64). Detection runs once (pthread_once) and reads
 * CPUID and XCR0, so a feature counts only where the OS also saves the wider register state.
 *
 * LLM_ISA=generic|avx2|avx512|neon caps the tier (a tier above what the CPU runs is ignored);
 * the choice is logged at debug level. This file is the only caller of ISA variants besides the
 * kernel test.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#include <llm/llm.h>

#include "common/log.h"
#include "kernels/kernels.h"

enum { TIER_GENERIC = 0, TIER_AVX2 = 1, TIER_AVX512 = 2, TIER_NEON = 1 };

static llm_kernels table_generic, table_avx2, table_avx512, table_neon;
static const llm_kernels *table_active = &table_generic;
static char cpu_features[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int have_avx2, have_avx512, have_neon, have_dotprod;
#define UNUSED_TIERS() ((void)have_avx2, (void)have_avx512, (void)have_neon, (void)have_dotprod)

// ------------------------------------------------------------------------------------------------
// tables

static void fill_generic(llm_kernels *k)
{
    memset(k, 0, sizeof *k);
    k->isa = "generic";
    k->gemm[LLM_DTYPE_F32] = llm_gemm_f32_generic;
    k->gemm[LLM_DTYPE_F16] = llm_gemm_f16_generic;
    k->gemm[LLM_DTYPE_BF16] = llm_gemm_bf16_generic;
    k->gemm[LLM_DTYPE_Q8_0] = llm_gemm_q8_0_generic;
    k->gemm[LLM_DTYPE_Q4_0] = llm_gemm_q4_0_generic;
    k->gemm[LLM_DTYPE_Q4_1] = llm_gemm_q4_1_generic;
    k->gemm[LLM_DTYPE_Q5_0] = llm_gemm_q5_0_generic;
    k->gemm[LLM_DTYPE_Q5_1] = llm_gemm_q5_1_generic;
    k->gemm[LLM_DTYPE_Q2_K] = llm_gemm_q2_K_generic;
    k->gemm[LLM_DTYPE_Q3_K] = llm_gemm_q3_K_generic;
    k->gemm[LLM_DTYPE_Q4_K] = llm_gemm_q4_K_generic;
    k->gemm[LLM_DTYPE_Q5_K] = llm_gemm_q5_K_generic;
    k->gemm[LLM_DTYPE_Q6_K] = llm_gemm_q6_K_generic;
    k->quant[LLM_DTYPE_Q8_0] = llm_quant_q8_0_generic;
    k->quant[LLM_DTYPE_Q8_1] = llm_quant_q8_1_generic;
    k->quant[LLM_DTYPE_Q8_K] = llm_quant_q8_K_generic;
    k->axpy_f32 = llm_axpy_f32_generic;
    k->axpy_f16 = llm_axpy_f16_generic;
    k->exp_f32 = llm_exp_f32_generic;
    k->gemm_dx_f32 = llm_gemm_dx_f32_generic;
    k->gemm_dw_f32 = llm_gemm_dw_f32_generic;
}

#if LLM_HAVE_AVX2
static void fill_avx2(llm_kernels *k)
{
    k->isa = "avx2";
    k->gemm[LLM_DTYPE_F32] = llm_gemm_f32_avx2;
    k->gemm[LLM_DTYPE_F16] = llm_gemm_f16_avx2;
    k->gemm[LLM_DTYPE_BF16] = llm_gemm_bf16_avx2;
    k->gemm[LLM_DTYPE_Q8_0] = llm_gemm_q8_0_avx2;
    k->gemm[LLM_DTYPE_Q4_0] = llm_gemm_q4_0_avx2;
    k->gemm[LLM_DTYPE_Q4_1] = llm_gemm_q4_1_avx2;
    k->gemm[LLM_DTYPE_Q5_0] = llm_gemm_q5_0_avx2;
    k->gemm[LLM_DTYPE_Q5_1] = llm_gemm_q5_1_avx2;
    k->gemm[LLM_DTYPE_Q4_K] = llm_gemm_q4_K_avx2;
    k->gemm[LLM_DTYPE_Q5_K] = llm_gemm_q5_K_avx2;
    k->gemm[LLM_DTYPE_Q6_K] = llm_gemm_q6_K_avx2;
    k->quant[LLM_DTYPE_Q8_0] = llm_quant_q8_0_avx2;
    k->quant[LLM_DTYPE_Q8_1] = llm_quant_q8_1_avx2;
    k->quant[LLM_DTYPE_Q8_K] = llm_quant_q8_K_avx2;
    k->axpy_f32 = llm_axpy_f32_avx2;
    k->axpy_f16 = llm_axpy_f16_avx2;
    k->axpy_rows_f32 = llm_axpy_rows_f32_avx2;
    k->axpy_rows_f16 = llm_axpy_rows_f16_avx2;
    k->exp_f32 = llm_exp_f32_avx2;
    k->gemm_dx_f32 = llm_gemm_dx_f32_avx2;
    k->gemm_dw_f32 = llm_gemm_dw_f32_avx2;
}
#endif

#if LLM_HAVE_AVX512
static void fill_avx512(llm_kernels *k)
{
    k->isa = "avx512";
    k->gemm[LLM_DTYPE_F32] = llm_gemm_f32_avx512;
    k->gemm[LLM_DTYPE_F16] = llm_gemm_f16_avx512;
    k->gemm[LLM_DTYPE_Q8_0] = llm_gemm_q8_0_avx512;
    k->gemm[LLM_DTYPE_Q4_0] = llm_gemm_q4_0_avx512;
}
#endif

#if LLM_HAVE_NEON
static void fill_neon(llm_kernels *k)
{
    k->isa = "neon";
    k->gemm[LLM_DTYPE_F32] = llm_gemm_f32_neon;
    k->gemm[LLM_DTYPE_F16] = llm_gemm_f16_neon;
    k->gemm[LLM_DTYPE_Q8_0] = llm_gemm_q8_0_neon;
    k->gemm[LLM_DTYPE_Q4_0] = llm_gemm_q4_0_neon;
    k->quant[LLM_DTYPE_Q8_0] = llm_quant_q8_0_neon;
    k->axpy_f32 = llm_axpy_f32_neon;
    k->axpy_f16 = llm_axpy_f16_neon;
#if LLM_HAVE_NEON_DOTPROD
    if (have_dotprod) {
        k->gemm[LLM_DTYPE_Q8_0] = llm_gemm_q8_0_neon_dotprod;
        k->gemm[LLM_DTYPE_Q4_0] = llm_gemm_q4_0_neon_dotprod;
    }
#endif
}
#endif

// ------------------------------------------------------------------------------------------------
// detection

#if defined(__x86_64__) || defined(__i386__)
/* CPUID feature bits, each reported only where the OS saves the register state it needs (XCR0
 * through XGETBV: XMM+YMM for the AVX family, opmask+ZMM for AVX-512). Read by hand rather than
 * with __builtin_cpu_supports, whose list of names differs between compilers (clang 14 has no
 * "f16c"). */
typedef struct x86_caps {
    int sse42, avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, avx512vnni;
} x86_caps;

static uint64_t x86_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" /* xgetbv */ : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static x86_caps x86_detect(void)
{
    x86_caps c;
    memset(&c, 0, sizeof c);
    unsigned a, b, cx, d;
    if (__get_cpuid_max(0, NULL) < 1 || !__get_cpuid(1, &a, &b, &cx, &d))
        return c;
    c.sse42 = (cx >> 20) & 1;
    const int osxsave = (cx >> 27) & 1;
    const uint64_t xcr0 = osxsave ? x86_xcr0() : 0;
    const int os_ymm = (xcr0 & 0x6) == 0x6;
    const int os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0;
    c.avx = os_ymm && ((cx >> 28) & 1);
    c.fma = c.avx && ((cx >> 12) & 1);
    c.f16c = c.avx && ((cx >> 29) & 1);
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        c.avx2 = c.avx && ((b >> 5) & 1);
        c.avx512f = os_zmm && ((b >> 16) & 1);
        c.avx512dq = c.avx512f && ((b >> 17) & 1);
        c.avx512bw = c.avx512f && ((b >> 30) & 1);
        c.avx512vl = c.avx512f && ((b >> 31) & 1);
        c.avx512vnni = c.avx512f && ((cx >> 11) & 1);
    }
    return c;
}
#endif

static void add_feature(const char *name)
{
    size_t len = strlen(cpu_features);
    if (len + strlen(name) + 2 > sizeof cpu_features)
        return;
    if (len > 0)
        cpu_features[len++] = ' ';
    memcpy(cpu_features + len, name, strlen(name) + 1);
}

static void detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    const x86_caps c = x86_detect();
    if (c.sse42) add_feature("sse4.2");
    if (c.avx) add_feature("avx");
    if (c.avx2) add_feature("avx2");
    if (c.fma) add_feature("fma");
    if (c.f16c) add_feature("f16c");
    if (c.avx512f) add_feature("avx512f");
    if (c.avx512bw) add_feature("avx512bw");
    if (c.avx512vl) add_feature("avx512vl");
    if (c.avx512dq) add_feature("avx512dq");
    if (c.avx512vnni) add_feature("avx512vnni");
    have_avx2 = c.avx2 && c.fma && c.f16c;
    have_avx512 = have_avx2 && c.avx512f && c.avx512bw && c.avx512vl && c.avx512dq &&
                  c.avx512vnni;
#elif defined(__aarch64__)
    add_feature("neon"); /* mandatory in AArch64 */
#if defined(__ARM_FEATURE_DOTPROD)
    have_dotprod = 1; /* the whole build targets it */
#elif defined(__linux__)
    have_dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    if (have_dotprod)
        add_feature("dotprod");
    have_neon = 1;
#endif
}

static int tier_cap(void)
{
    const char *env = getenv("LLM_ISA");
    if (env == NULL || *env == '\0')
        return 99;
    if (strcmp(env, "generic") == 0)
        return TIER_GENERIC;
    if (strcmp(env, "avx2") == 0)
        return TIER_AVX2;
    if (strcmp(env, "avx512") == 0)
        return TIER_AVX512;
    if (strcmp(env, "neon") == 0)
        return TIER_NEON;
    llm_log(LLM_LOG_WARN, "LLM_ISA='%s' is not one of generic, avx2, avx512, neon; ignored", env);
    return 99;
}

static void init(void)
{
    detect();
    fill_generic(&table_generic);
    table_avx2 = table_generic;
    table_avx512 = table_generic;
    table_neon = table_generic;
    const int cap = tier_cap();
    const llm_kernels *best = &table_generic;
    (void)cap;
#if LLM_HAVE_AVX2
    fill_avx2(&table_avx2);
    table_avx512 = table_avx2;
    if (have_avx2 && cap >= TIER_AVX2)
        best = &table_avx2;
#endif
#if LLM_HAVE_AVX512
    fill_avx512(&table_avx512);
    if (have_avx512 && cap >= TIER_AVX512)
        best = &table_avx512;
#endif
#if LLM_HAVE_NEON
    fill_neon(&table_neon);
    if (have_neon && cap >= TIER_NEON)
        best = &table_neon;
#endif
    table_active = best;
    UNUSED_TIERS();
    llm_log(LLM_LOG_DEBUG, "kernels: %s (cpu: %s)", best->isa, cpu_features);
}

// ------------------------------------------------------------------------------------------------
// entry points

const llm_kernels *llm_kernels_get(void)
{
    pthread_once(&once, init);
    return table_active;
}

const llm_kernels *llm_kernels_for(const char *isa)
{
    pthread_once(&once, init);
    if (strcmp(isa, "generic") == 0)
        return &table_generic;
#if LLM_HAVE_AVX2
    if (strcmp(isa, "avx2") == 0 && have_avx2)
        return &table_avx2;
#endif
#if LLM_HAVE_AVX512
    if (strcmp(isa, "avx512") == 0 && have_avx512)
        return &table_avx512;
#endif
#if LLM_HAVE_NEON
    if (strcmp(isa, "neon") == 0 && have_neon)
        return &table_neon;
#endif
    return NULL;
}

uint32_t llm_gemm_act_type(uint32_t type)
{
    switch (type) {
    case LLM_DTYPE_Q8_0:
    case LLM_DTYPE_Q4_0:
    case LLM_DTYPE_Q5_0:
        return LLM_DTYPE_Q8_0;
    case LLM_DTYPE_Q4_1:
    case LLM_DTYPE_Q5_1:
        return LLM_DTYPE_Q8_1;
    case LLM_DTYPE_Q4_K:
    case LLM_DTYPE_Q5_K:
    case LLM_DTYPE_Q6_K:
        return LLM_DTYPE_Q8_K;
    default:
        return LLM_DTYPE_F32;
    }
}

const char *llm_kernel_isa(void)
{
    return llm_kernels_get()->isa;
}

const char *llm_cpu_features(void)
{
    pthread_once(&once, init);
    return cpu_features;
}
