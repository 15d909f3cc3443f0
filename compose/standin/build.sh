#!/usr/bin/env bash
# Builds the stand-in images that replace confluentinc/cp-zookeeper, confluentinc/cp-kafka, apache/kafka,
# andrewgaul/s3proxy and Microsoft's azurite on machines with no image registry: Debian rootfs with Java or Node.js, real Apache Kafka,
# ZooKeeper and S3Proxy jars from Maven Central, Azurite from npm, and the same entrypoint, environment variables
# and tool names as the public images. Skips every part that
# already exists. Prints the image names as shell assignments for eval.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
work=${STANDIN_WORK:-$here/../../target/standin}
engine=${CONTAINER_ENGINE:-podman}
base="localhost/standin/base:bookworm-jre17"
# The tag carries a hash of the files each image is built from, so a changed stand-in is built anew.
content_hash() { (cd "$here" && find versions.env pom.xml common "$@" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-8; }
zk_image="localhost/standin/cp-zookeeper:$KAFKA_VERSION-$(content_hash zookeeper)"
kafka_image="localhost/standin/cp-kafka:$KAFKA_VERSION-$(content_hash kafka)"
apache_kafka_image="localhost/standin/apache-kafka:$APACHE_KAFKA_VERSION-$(content_hash apache-kafka)"
s3proxy_image="localhost/standin/s3proxy:$S3PROXY_VERSION-$(content_hash s3proxy)"
azurite_image="localhost/standin/azurite:$AZURITE_VERSION-$(content_hash azurite)"
node_base="localhost/standin/base:bookworm-node"
mkdir -p "$work"

log() { echo "standin: $*" >&2; }

base_image() { # IMAGE PACKAGE: a Debian bookworm rootfs with PACKAGE, imported once
  local image=$1 package=$2 rootfs="$work/rootfs-$2"
  "$engine" image exists "$image" && return 0
  rm -rf "$rootfs"
  log "debootstrap bookworm with $package (about a minute)"
  debootstrap --variant=minbase --include="$package" bookworm "$rootfs" >"$work/debootstrap-$package.log" 2>&1 ||
    { tail -20 "$work/debootstrap-$package.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "importing rootfs as $image"
  tar -C "$rootfs" -c . | "$engine" import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
  rm -rf "$rootfs"
}
base_image "$base" openjdk-17-jre-headless
base_image "$node_base" nodejs

maven_libs() { # DIR POM JAR WHAT PROPERTY: the jars of POM in DIR, resolved once (JAR marks a complete copy)
  local dir=$1 pom=$2 jar=$3 what=$4 property=$5
  [ -f "$dir/$jar" ] && return 0
  log "resolving $what and its dependencies from Maven Central"
  rm -rf "$dir"
  mvn -q -B -f "$pom" "$property" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir" >&2
}
libs="$work/libs-$KAFKA_VERSION"
maven_libs "$libs" "$here/pom.xml" "kafka_2.13-$KAFKA_VERSION.jar" "Apache Kafka $KAFKA_VERSION" \
  -Dkafka.version="$KAFKA_VERSION"
apache_libs="$work/libs-apache-kafka-$APACHE_KAFKA_VERSION"
maven_libs "$apache_libs" "$here/apache-kafka/pom.xml" "kafka_2.13-$APACHE_KAFKA_VERSION.jar" \
  "Apache Kafka $APACHE_KAFKA_VERSION" -Dkafka.version="$APACHE_KAFKA_VERSION"
s3proxy_libs="$work/libs-s3proxy-$S3PROXY_VERSION"
maven_libs "$s3proxy_libs" "$here/s3proxy/pom.xml" "s3proxy-$S3PROXY_VERSION.jar" "S3Proxy $S3PROXY_VERSION" \
  -Ds3proxy.version="$S3PROXY_VERSION"

azurite_modules="$work/azurite-$AZURITE_VERSION"
if [ ! -f "$azurite_modules/node_modules/azurite/package.json" ]; then
  log "installing Azurite $AZURITE_VERSION from npm"
  rm -rf "$azurite_modules"
  npm install --omit=dev --no-audit --no-fund --loglevel=error --prefix "$azurite_modules" "azurite@$AZURITE_VERSION" >&2
fi

write_tools() { # one wrapper per line of tools.tsv, as the Kafka distribution's bin/*.sh
  mkdir -p "$1"
  cp "$here/common/kafka-run-class" "$here/common/wait-for-tcp" "$1/"
  grep -v '^#' "$here/common/tools.tsv" | while IFS=$'\t' read -r name class args; do
    printf '#!/bin/bash\nexec kafka-run-class %s %s"$@"\n' "$class" "${args:+$args }" >"$1/$name"
    chmod +x "$1/$name"
  done
}

build() { # build IMAGE ROLE
  local image=$1 role=$2 ctx="$work/context-$2"
  "$engine" image exists "$image" && [ "${STANDIN_REBUILD:-0}" != 1 ] && return 0
  log "building $image"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$libs" "$ctx/libs"
  cp -r "$here/common" "$ctx/common"
  cp -r "$here/$role/." "$ctx/"
  write_tools "$ctx/bin"
  "$engine" build -q -f "$ctx/Containerfile" --build-arg BASE="$base" --build-arg KAFKA_VERSION="$KAFKA_VERSION" -t "$image" "$ctx" >/dev/null
}
build "$zk_image" zookeeper
build "$kafka_image" kafka
if ! "$engine" image exists "$apache_kafka_image" || [ "${STANDIN_REBUILD:-0}" = 1 ]; then
  log "building $apache_kafka_image"
  ctx="$work/context-apache-kafka"
  rm -rf "$ctx" && mkdir -p "$ctx/bin"
  cp -r "$apache_libs" "$ctx/libs"
  cp -r "$here/apache-kafka/docker" "$here/apache-kafka/Containerfile" "$ctx/"
  cp "$here/apache-kafka/kafka-run-class.sh" "$here/apache-kafka/kafka-server-start.sh" "$ctx/bin/"
  grep -v '^#' "$here/apache-kafka/tools.tsv" | while IFS=$'\t' read -r name class; do
    printf '#!/bin/bash\nexec /opt/kafka/bin/kafka-run-class.sh %s "$@"\n' "$class" >"$ctx/bin/$name"
    chmod +x "$ctx/bin/$name"
  done
  "$engine" build -q -f "$ctx/Containerfile" --build-arg BASE="$base" --build-arg KAFKA_VERSION="$APACHE_KAFKA_VERSION" \
    -t "$apache_kafka_image" "$ctx" >/dev/null
fi
if ! "$engine" image exists "$s3proxy_image" || [ "${STANDIN_REBUILD:-0}" = 1 ]; then
  log "building $s3proxy_image"
  ctx="$work/context-s3proxy"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$s3proxy_libs" "$ctx/libs"
  cp -r "$here/s3proxy/." "$ctx/"
  "$engine" build -q -f "$ctx/Containerfile" --build-arg BASE="$base" --build-arg S3PROXY_VERSION="$S3PROXY_VERSION" \
    -t "$s3proxy_image" "$ctx" >/dev/null
fi

if ! "$engine" image exists "$azurite_image" || [ "${STANDIN_REBUILD:-0}" = 1 ]; then
  log "building $azurite_image"
  ctx="$work/context-azurite"
  rm -rf "$ctx" && mkdir -p "$ctx/bin"
  cp -r "$azurite_modules/node_modules" "$ctx/node_modules"
  cp -r "$here/azurite/." "$ctx/"
  for command in azurite azurite-blob azurite-queue azurite-table; do # the package's own bin entries
    script=$(cd "$azurite_modules/node_modules/azurite" && node -p "require('./package.json').bin['$command']")
    printf '#!/bin/sh\nexec node /opt/azurite/node_modules/azurite/%s "$@"\n' "${script#./}" >"$ctx/bin/$command"
    chmod +x "$ctx/bin/$command"
  done
  "$engine" build -q -f "$ctx/Containerfile" --build-arg BASE="$node_base" --build-arg AZURITE_VERSION="$AZURITE_VERSION" \
    -t "$azurite_image" "$ctx" >/dev/null
fi

# Stand-ins of earlier build files: removed unless a container still uses them.
"$engine" images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/standin/(cp-kafka|cp-zookeeper|apache-kafka|s3proxy|azurite):' |
  grep -vxF -e "$zk_image" -e "$kafka_image" -e "$apache_kafka_image" -e "$s3proxy_image" -e "$azurite_image" | xargs -r "$engine" rmi >/dev/null 2>&1 || true

echo "ZOOKEEPER_IMAGE=$zk_image"
echo "KAFKA_IMAGE=$kafka_image"
echo "APACHE_KAFKA_IMAGE=$apache_kafka_image"
echo "S3PROXY_IMAGE=$s3proxy_image"
echo "AZURITE_IMAGE=$azurite_image"
