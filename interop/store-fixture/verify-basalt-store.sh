#!/usr/bin/env bash
# Writes a store with Basalt and opens it with Apache RocketMQ 5.5.1's
# DefaultMessageStore, checking every message (the reverse of generate.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sample="$(mktemp -d)"
(cd "$here/../.." && BASALT_SAMPLE_DIR="$sample" cargo test -p basalt-store --test main write_sample_store_for_java -- --ignored)
cp_file="$(mktemp)"
(cd "$here" && mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cp_file")
classes="$(mktemp -d)"
javac -d "$classes" -cp "$(cat "$cp_file")" "$here"/src/*.java
java -cp "$classes:$(cat "$cp_file")" VerifyStore "$sample"
