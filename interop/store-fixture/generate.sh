#!/usr/bin/env bash
# Regenerates crates/basalt-store/tests/fixtures/rocketmq-store with Apache
# RocketMQ's own DefaultMessageStore (jars from Maven Central; see pom.xml).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../crates/basalt-store/tests/fixtures/rocketmq-store"
cp_file="$(mktemp)"
(cd "$here" && mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cp_file")
classes="$(mktemp -d)"
javac -d "$classes" -cp "$(cat "$cp_file")" "$here"/src/*.java
rm -rf "$out"
mkdir -p "$out"
java -cp "$classes:$(cat "$cp_file")" GenerateFixture "$out"
# Files the reader does not need.
rm -rf "$out/lock" "$out/config" "$out/abort" "$out/abort.bak" "$out/rocksdbstore" "$out/compaction"
echo "fixture written to $out"
