#!/bin/sh
# make install honours PREFIX and DESTDIR, and what it installs is usable:
# a program built against the installed header and library runs.
. "$(dirname "$0")/lib.sh"
build=$(dirname "$MVC")
dest="$T/dest"
check "make install DESTDIR=... PREFIX=/opt/mvc" \
    make -s -C "$MVC_SRC" BUILD="$build" DESTDIR="$dest" PREFIX=/opt/mvc install
root="$dest/opt/mvc"
for f in bin/mvc lib/libmvc.a lib/libmvc.so lib/libmvc.so.0 include/mvc.h include/mvc/commit.h \
    lib/pkgconfig/mvc.pc share/man/man1/mvc.1 share/man/man1/mvc-commit.1 share/man/man5/mvc-format.5 \
    share/bash-completion/completions/mvc share/zsh/site-functions/_mvc \
    share/fish/vendor_completions.d/mvc.fish; do
	check "installs $f" test -e "$root/$f"
done
check "the installed binary runs" sh -c "'$root/bin/mvc' --version | grep -q '^mvc '"
check "mvc.pc names the prefix" grep -q '^prefix=/opt/mvc' "$root/lib/pkgconfig/mvc.pc"
cat >"$T/client.c" <<'C'
#include <stdio.h>
#include <mvc.h>
int main(void)
{
	mvc_repo *r = NULL;
	int e = mvc_repo_open(&r, "/");
	printf("%s %d %s\n", mvc_version_string(), e == MVC_ENOTFOUND, mvc_dtype_name(MVC_DTYPE_BF16));
	mvc_repo_free(r);
	return 0;
}
C
libs=$(pkg-config --libs libgit2 libsodium libzstd jansson libcrypto zlib 2>/dev/null)
# a sanitizer build's library needs its runtime in the client too
extra=${MVC_TEST_CFLAGS:-}
check "a client compiles against the installed header and library" \
    cc $extra -std=c11 -Wall -Werror -I"$root/include" -o "$T/client" "$T/client.c" "$root/lib/libmvc.a" $libs -lpthread -lm
check "and runs" sh -c "'$T/client' | grep -q ' 1 BF16'"
check "the shared library links too" \
    cc $extra -std=c11 -I"$root/include" -o "$T/client-so" "$T/client.c" -L"$root/lib" -lmvc $libs -lpthread -lm
check "and runs" sh -c "LD_LIBRARY_PATH='$root/lib' '$T/client-so' | grep -q BF16"
finish
