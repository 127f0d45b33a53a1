#!/usr/bin/env bash
# Builds the eBPF objects that Ferry ships. The objects are committed, so the
# Java build needs no C toolchain; run this only after changing bpf/*.c.
#
#   bpf/build.sh          rebuild the committed objects
#   bpf/build.sh --check  rebuild into a temp dir and fail if anything differs
#
# Output is byte-identical across checkouts: clang runs from the repository root
# on relative paths with -fdebug-compilation-dir=., and the DWARF (which would
# record absolute paths) is stripped. .BTF and .BTF.ext, which libbpf needs for
# the map definitions, are not debug sections and survive the strip.
set -euo pipefail

cd "$(dirname "$0")/.."

CLANG=${CLANG:-clang}
LLVM_STRIP=${LLVM_STRIP:-llvm-strip}
CFLAGS=(-O2 -g -target bpf -Wall -Werror
	-I/usr/include/x86_64-linux-gnu
	-fdebug-compilation-dir=. -fdebug-prefix-map="$PWD"=.)

# source:committed object
OBJECTS=(
	bpf/ferry.bpf.c:src/main/resources/bpf/ferry.bpf.o
	bpf/test/invalid.bpf.c:src/test/resources/bpf/invalid.bpf.o
)

compile() { # source output
	"$CLANG" "${CFLAGS[@]}" -c "$1" -o "$2"
	"$LLVM_STRIP" -g "$2"
}

for tool in "$CLANG" "$LLVM_STRIP"; do
	command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (apt-get install clang llvm)" >&2; exit 2; }
done

if [[ ${1:-} == --check ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	stale=0
	for pair in "${OBJECTS[@]}"; do
		src=${pair%%:*} obj=${pair#*:}
		compile "$src" "$tmp/out.o"
		if ! cmp -s "$tmp/out.o" "$obj"; then
			echo "build.sh --check: $obj is stale or missing: rebuilding $src gives a different object" >&2
			stale=1
		fi
	done
	if ((stale)); then
		echo "build.sh --check: run bpf/build.sh and commit the objects ($("$CLANG" --version | head -n1))" >&2
		exit 1
	fi
	echo "build.sh --check: all objects match their sources"
	exit 0
elif [[ $# -gt 0 ]]; then
	echo "usage: bpf/build.sh [--check]" >&2
	exit 2
fi

for pair in "${OBJECTS[@]}"; do
	src=${pair%%:*} obj=${pair#*:}
	mkdir -p "$(dirname "$obj")"
	compile "$src" "$obj.tmp"
	mv "$obj.tmp" "$obj"
	echo "built $obj"
done
