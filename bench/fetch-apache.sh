#!/usr/bin/env bash
# Fetch Apache RocketMQ jars from Maven Central into bench/.cache/<role>/lib.
# One classpath per role. 5.5.0 throughout: rocketmq-broker 5.5.1 is on Central
# but its rocketmq-client/srvutil/filter/auth 5.5.1 dependencies are not.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/.cache"
BROKER_VERSION="${BROKER_VERSION:-5.5.0}"
NAMESRV_VERSION="${NAMESRV_VERSION:-5.5.0}"
EXAMPLE_VERSION="${EXAMPLE_VERSION:-5.5.0}"

fetch() { # role artifact version
  local role="$1" artifact="$2" version="$3" dir="$cache/$1"
  if [ -f "$dir/lib/.done-$version" ]; then return 0; fi
  mkdir -p "$dir/lib"
  cat > "$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>basalt.bench</groupId><artifactId>$role</artifactId><version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>$artifact</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
  echo "fetching $artifact $version" >&2
  (cd "$dir" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime) >&2
  touch "$dir/lib/.done-$version"
}

fetch broker rocketmq-broker "$BROKER_VERSION"
fetch namesrv rocketmq-namesrv "$NAMESRV_VERSION"
fetch example rocketmq-example "$EXAMPLE_VERSION"
