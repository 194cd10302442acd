/* Compiles one public header alone (HEADER is set by meson): it must be self-contained. */
#include HEADER
#include HEADER /* and idempotent */

int main(void)
{
    return 0;
}
